//! Benchmarks of the gRPC stack against tonic and a bare hyper HTTP/2
//! server. The benchmark programs and criterion suites arrive with the
//! performance work; this crate holds their shared code.
