//! [`Builder`]: what to generate, where, and from which `.proto` files.

use std::io;
use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_types::FileDescriptorSet;

use crate::generator::Generator;

/// Configures code generation; made by [`configure`](crate::configure).
///
/// Every setting has a default, so `configure().compile_protos(..)` works
/// alone. Methods take and return the builder by value:
///
/// ```no_run
/// grpc_build::configure()
///     .build_client(false)
///     .file_descriptor_set_path(
///         std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("echo.bin"),
///     )
///     .compile_protos(&["proto/echo.proto"], &["proto"])?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until `compile_protos` is called"]
pub struct Builder {
    build_server: bool,
    build_client: bool,
    out_dir: Option<PathBuf>,
    include_file: Option<PathBuf>,
    file_descriptor_set_path: Option<PathBuf>,
    emit_rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            build_server: true,
            build_client: true,
            out_dir: None,
            include_file: None,
            file_descriptor_set_path: None,
            emit_rerun_if_changed: std::env::var_os("OUT_DIR").is_some(),
        }
    }
}

impl Builder {
    /// Whether to generate the `<service>_server` modules. Default: `true`.
    pub fn build_server(mut self, enable: bool) -> Self {
        self.build_server = enable;
        self
    }

    /// Whether to generate the `<service>_client` modules. Default: `true`.
    pub fn build_client(mut self, enable: bool) -> Self {
        self.build_client = enable;
        self
    }

    /// The directory the generated `<package>.rs` files are written to.
    /// Default: the `OUT_DIR` that Cargo gives a build script.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Also writes a file of this name to the output directory that declares
    /// one nested module per package and includes every generated file, so
    /// one `include!` brings in all packages. Relative to the output
    /// directory. Default: no such file.
    pub fn include_file(mut self, name: impl AsRef<Path>) -> Self {
        self.include_file = Some(name.as_ref().to_path_buf());
        self
    }

    /// Also writes the encoded `FileDescriptorSet` of the compiled files
    /// (with their imports and source info) to `path`, e.g. for a reflection
    /// service. Default: not written.
    pub fn file_descriptor_set_path(mut self, path: impl AsRef<Path>) -> Self {
        self.file_descriptor_set_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every `.proto` file read
    /// (the given ones and their imports), so Cargo reruns the build script
    /// when one of them changes. Default: `true` inside a build script (when
    /// `OUT_DIR` is set), `false` elsewhere.
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.emit_rerun_if_changed = enable;
        self
    }

    /// The service generator these settings describe, for a
    /// [`prost_build::Config`] you drive yourself.
    pub fn service_generator(&self) -> Box<dyn prost_build::ServiceGenerator> {
        Box::new(Generator {
            build_server: self.build_server,
            build_client: self.build_client,
        })
    }

    /// Parses `protos` (searching imports in `includes`, in order) and writes
    /// the messages and services they define, one file per package.
    ///
    /// Every file in `protos` must lie inside one of the `includes`.
    ///
    /// # Errors
    ///
    /// A file that is missing, does not parse or does not type-check gives
    /// an [`io::ErrorKind::InvalidInput`] error whose message reads
    /// `file.proto:line:column: what is wrong`. Failing to write the output
    /// gives the underlying I/O error.
    pub fn compile_protos(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        self.compile_protos_with_config(prost_build::Config::new(), protos, includes)
    }

    /// Like [`compile_protos`](Self::compile_protos), with a
    /// [`prost_build::Config`] of your own for the message code (extern
    /// paths, attributes, `bytes` fields, well-known types and so on).
    ///
    /// The builder sets the config's service generator, and its output
    /// directory and include file when they are set here.
    ///
    /// # Errors
    ///
    /// As for [`compile_protos`](Self::compile_protos).
    pub fn compile_protos_with_config(
        self,
        config: prost_build::Config,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        let fds = self.parse(protos, includes)?;
        self.compile_fds_with_config(config, fds)
    }

    /// Generates code from an already parsed `FileDescriptorSet`, e.g. one
    /// that another tool produced. It must carry source info for the doc
    /// comments to appear.
    ///
    /// # Errors
    ///
    /// Failing to write the output, or a descriptor set prost-build cannot
    /// generate code for.
    pub fn compile_fds_with_config(
        self,
        mut config: prost_build::Config,
        fds: FileDescriptorSet,
    ) -> io::Result<()> {
        if let Some(dir) = &self.out_dir {
            std::fs::create_dir_all(dir)?;
            config.out_dir(dir);
        }
        if let Some(name) = &self.include_file {
            config.include_file(name);
        }
        if let Some(path) = &self.file_descriptor_set_path {
            std::fs::write(path, fds.encode_to_vec())?;
        }
        config.service_generator(self.service_generator());
        config.compile_fds(fds)
    }

    /// Reads and checks the `.proto` files with protox.
    fn parse(
        &self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<FileDescriptorSet> {
        let mut compiler =
            protox::Compiler::new(includes.iter().map(AsRef::as_ref)).map_err(invalid_input)?;
        compiler.include_imports(true).include_source_info(true);
        for proto in protos {
            compiler.open_file(proto.as_ref()).map_err(invalid_input)?;
        }
        if self.emit_rerun_if_changed {
            for file in compiler.files() {
                if let Some(path) = file.path() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
        Ok(compiler.file_descriptor_set())
    }
}

/// A protox error as an I/O error. protox's `Debug` form is the one that
/// carries `file:line:column`.
fn invalid_input(err: protox::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{err:?}"))
}
