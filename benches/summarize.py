#!/usr/bin/env python3
"""Summarizes the results.tsv written by benches/compare.sh as Markdown.

Each line of the TSV is: kind, scenario, tool, implementation, round, JSON.
Medians are over rounds; "spread" is (max - min) / median of the rounds, and
race ratios are computed per round (A and B measured at the same time), then
their median is taken.
"""

import json
import statistics
import sys
from collections import defaultdict

SCENARIOS = [
    "unary_c1",
    "unary_c64_1conn",
    "unary_c64_4conn",
    "overload_1000x50",
    "stream_1KiB",
    "stream_64KiB",
]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            kind, scenario, tool, impl, rnd, data = line.rstrip("\n").split("\t", 5)
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                data = {"errors": -1}
            rows.append((kind, scenario, tool, impl, int(rnd), data))
    return rows


def metric(scenario):
    return ("mb_per_s", "MB/s") if scenario.startswith("stream") else ("rps", "req/s")


def fmt(x, digits=0):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}" if digits else f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}"


def spread(values):
    med = statistics.median(values)
    return (max(values) - min(values)) / med * 100 if med else 0.0


def errors_of(rows):
    return sum(max(r[5].get("errors", 0), 0) for r in rows), sum(
        1 for r in rows if r[5].get("errors", 0) < 0
    )


def main(path):
    rows = load(path)
    out = []
    p = out.append
    targets = []

    alt = defaultdict(list)
    race = defaultdict(lambda: defaultdict(dict))
    for kind, sc, tool, impl, rnd, d in rows:
        if kind in ("alt", "client-alt"):
            alt[(kind, sc, tool, impl)].append(d)
        elif kind in ("race", "client-race"):
            pair, who = impl.split(":")
            race[(kind, sc, tool, pair)][rnd][who] = d

    errs, broken = errors_of(rows)
    if errs or broken:
        p(f"**Warning: {errs} failed calls and {broken} failed runs in the raw results.**\n")

    # Alternating, absolute figures.
    if any(k[0] == "alt" for k in alt):
        p("### Servers, alternating runs (absolute figures; ratios only good to about ±20 %)\n")
        p("| scenario | load | metric | ours (default) | ours (bare) | tonic 0.14 | hyper ceiling | ours/tonic |")
        p("|---|---|---|---|---|---|---|---|")
        for sc in SCENARIOS:
            key, unit = metric(sc)
            for tool in ("h2load", "loadgen"):
                cells = {}
                for impl in ("ours", "bare", "tonic", "ceiling"):
                    ds = alt.get(("alt", sc, tool, impl))
                    if ds:
                        vals = [d.get(key, 0) for d in ds]
                        cells[impl] = (statistics.median(vals), spread(vals))
                if not cells:
                    continue
                ratio = (
                    cells["ours"][0] / cells["tonic"][0]
                    if "ours" in cells and "tonic" in cells and cells["tonic"][0]
                    else None
                )
                line = [sc, tool, unit] + [
                    f"{fmt(cells[i][0])} ±{cells[i][1] / 2:.0f}%" if i in cells else "-"
                    for i in ("ours", "bare", "tonic", "ceiling")
                ]
                line.append(f"{ratio:.2f}×" if ratio else "-")
                p("| " + " | ".join(line) + " |")
        p("")
        p("Latency from bench-loadgen (median of rounds, µs):\n")
        p("| scenario | ours p50 | ours p99 | tonic p50 | tonic p99 | p99 ours/tonic |")
        p("|---|---|---|---|---|---|")
        for sc in SCENARIOS:
            o = alt.get(("alt", sc, "loadgen", "ours"))
            t = alt.get(("alt", sc, "loadgen", "tonic"))
            if not (o and t):
                continue
            med = lambda ds, q: statistics.median(d.get("lat_us", {}).get(q, 0) for d in ds)
            r = med(o, "p99") / med(t, "p99") if med(t, "p99") else 0
            p(f"| {sc} | {fmt(med(o, 'p50'))} | {fmt(med(o, 'p99'))} | {fmt(med(t, 'p50'))} | {fmt(med(t, 'p99'))} | {r:.2f}× |")
        p("")

    # Races, ratios.
    race_ratio = {}
    if any(k[0] == "race" for k in race):
        p("### Servers, races (A and B at the same time on one core; ratios)\n")
        p("| scenario | load | A vs B | metric | A (median) | B (median) | A/B median | A/B per round (min–max) |")
        p("|---|---|---|---|---|---|---|---|")
        for (kind, sc, tool, pair), by_round in sorted(
            race.items(), key=lambda kv: (kv[0][0], SCENARIOS.index(kv[0][1]) if kv[0][1] in SCENARIOS else 99, kv[0][2], kv[0][3])
        ):
            if kind != "race":
                continue
            a, b = pair.split("-vs-")
            key, unit = metric(sc)
            metrics = [(key, unit)]
            if sc == "overload_1000x50" and tool == "loadgen":
                metrics.append(("p99", "p99 µs"))
            for key, unit in metrics:
                get = (lambda d: d.get("lat_us", {}).get("p99", 0)) if key == "p99" else (lambda d, k=key: d.get(k, 0))
                ratios, va, vb = [], [], []
                for rnd, ab in sorted(by_round.items()):
                    if a in ab and b in ab and get(ab[b]):
                        va.append(get(ab[a]))
                        vb.append(get(ab[b]))
                        ratios.append(get(ab[a]) / get(ab[b]))
                if not ratios:
                    continue
                med = statistics.median(ratios)
                race_ratio[(sc, tool, pair, key)] = med
                p(
                    f"| {sc} | {tool} | {a} vs {b} | {unit} | {fmt(statistics.median(va))} | "
                    f"{fmt(statistics.median(vb))} | **{med:.2f}×** | {min(ratios):.2f}–{max(ratios):.2f} |"
                )
        p("")

    # Clients.
    if any(k[0] == "client-alt" for k in alt) or any(k[0] == "client-race" for k in race):
        p("### Clients (bench-loadgen vs tonic-bench-loadgen, against the hyper ceiling)\n")
        p("| scenario | ours alone | tonic alone | race: ours/tonic median | per round (min–max) |")
        p("|---|---|---|---|---|")
        for sc in SCENARIOS:
            o = alt.get(("client-alt", sc, "loadgen", "ours"))
            t = alt.get(("client-alt", sc, "loadgen", "tonic"))
            by_round = race.get(("client-race", sc, "loadgen", "ours-vs-tonic"))
            if not (o or by_round):
                continue
            ratios = [
                ab["ours"]["rps"] / ab["tonic"]["rps"]
                for ab in (by_round or {}).values()
                if "ours" in ab and "tonic" in ab and ab["tonic"].get("rps")
            ]
            med = statistics.median(ratios) if ratios else None
            race_ratio[(sc, "client", "ours-vs-tonic", "rps")] = med
            ro = statistics.median(d["rps"] for d in o) if o else None
            rt = statistics.median(d["rps"] for d in t) if t else None
            p(
                f"| {sc} | {fmt(ro)} req/s | {fmt(rt)} req/s | "
                f"**{med:.2f}×** | {min(ratios):.2f}–{max(ratios):.2f} |"
                if ratios
                else f"| {sc} | {fmt(ro)} | {fmt(rt)} | - | - |"
            )
        p("")

    # Valgrind.
    cg = defaultdict(dict)
    for kind, sc, tool, impl, rnd, d in rows:
        if kind.startswith("callgrind") or kind.startswith("dhat"):
            cg[(kind, sc)][impl] = d
    if cg:
        p("### Instructions and allocations per unary call (valgrind; (I(n2) − I(n1)) / (n2 − n1))\n")
        p("| measure | ours (default) | ours (bare) | tonic 0.14 | hyper ceiling | ours/tonic |")
        p("|---|---|---|---|---|---|")
        for (kind, sc), by in sorted(cg.items()):
            field = "instr_per_call" if kind.startswith("callgrind") else "allocs_per_call"
            vals = {i: by[i].get(field) for i in by}
            r = vals["ours"] / vals["tonic"] if vals.get("ours") and vals.get("tonic") else None
            name = kind.replace("callgrind", "instructions").replace("dhat", "allocations")
            cells = " | ".join(fmt(vals.get(i)) for i in ("ours", "bare", "tonic", "ceiling"))
            ratio = f"{r:.2f}×" if r else "-"
            p(f"| {name} {sc} | {cells} | {ratio} |")
        p("")

    layers = {impl: d["instr_per_call"] for kind, sc, tool, impl, rnd, d in rows if kind == "layers-server"}
    if layers:
        p("### What each optional layer costs (server, instructions per unary call, c=1)\n")
        p("Each layer added to the default stack (`bench-server --with`: telemetry outermost, auth and load shedding where `grpc_server::stack` places them; `load-shed-all` refuses every call, so its row is what a refused call costs); the cost is the difference to the default stack, also as a share of the bare router's call.\n")
        p("| server | instructions / call | cost of the layer | cost / bare call |")
        p("|---|---|---|---|")
        base, bare = layers.get("default"), layers.get("bare")
        for name, v in layers.items():
            if name in ("default", "bare") or base is None:
                p(f"| {name} | {fmt(v)} | - | - |")
            else:
                share = f"{(v - base) / bare * 100:+.1f} %" if bare else "-"
                p(f"| default + {name} | {fmt(v)} | {v - base:+.0f} | {share} |")
        p("")

    rss = {impl: d["peak_rss_kib"] for kind, sc, tool, impl, rnd, d in rows if kind == "rss"}
    if rss:
        p("### Peak RSS of each server after all throughput runs (VmHWM)\n")
        p("| ours (default) | ours (bare) | tonic 0.14 | hyper ceiling |")
        p("|---|---|---|---|")
        p("| " + " | ".join(f"{rss[i] / 1024:.1f} MiB" if i in rss else "-" for i in ("ours", "bare", "tonic", "ceiling")) + " |")
        p("")

    # Targets.
    def target(name, value, limit, better):
        if value is None:
            targets.append(f"| {name} | not measured | {limit} | - |")
            return
        ok = value <= limit if better == "le" else value >= limit
        sign = "≤" if better == "le" else "≥"
        targets.append(f"| {name} | {value:.2f}× | {sign} {limit}× | {'met' if ok else '**missed**'} |")

    def cg_ratio(kind, sc, a, b):
        by = cg.get((kind, sc), {})
        field = "instr_per_call" if kind.startswith("callgrind") else "allocs_per_call"
        if by.get(a, {}).get(field) and by.get(b, {}).get(field):
            return by[a][field] / by[b][field]
        return None

    target("server instructions per unary call, ours/tonic (c=1)", cg_ratio("callgrind-server", "unary_c1", "ours", "tonic"), 0.75, "le")
    target("server instructions per unary call, ours/tonic (c=64)", cg_ratio("callgrind-server", "unary_c64", "ours", "tonic"), 0.75, "le")
    target("unary req/s ours/tonic, c=64, 1 conn (race, h2load)", race_ratio.get(("unary_c64_1conn", "h2load", "ours-vs-tonic", "rps")), 1.25, "ge")
    target("unary req/s ours/tonic, c=64, 4 conns (race, h2load)", race_ratio.get(("unary_c64_4conn", "h2load", "ours-vs-tonic", "rps")), 1.25, "ge")
    target("client instructions per unary call, ours/tonic (c=1)", cg_ratio("callgrind-client", "unary_c1", "ours", "tonic"), 0.75, "le")
    target("client instructions per unary call, ours/tonic (c=64)", cg_ratio("callgrind-client", "unary_c64", "ours", "tonic"), 0.75, "le")
    target("client req/s ours/tonic, c=64 (race)", race_ratio.get(("unary_c64_1conn", "client", "ours-vs-tonic", "rps")), 1.2, "ge")
    target("client req/s ours/tonic, c=1 (race)", race_ratio.get(("unary_c1", "client", "ours-vs-tonic", "rps")), 1.2, "ge")
    target("p99 at 1000 in flight, ours/tonic (race, loadgen)", race_ratio.get(("overload_1000x50", "loadgen", "ours-vs-tonic", "p99")), 0.5, "le")
    target("streaming MB/s ours/tonic, 1 KiB (race, h2load)", race_ratio.get(("stream_1KiB", "h2load", "ours-vs-tonic", "mb_per_s")), 1.1, "ge")
    target("streaming MB/s ours/tonic, 64 KiB (race, h2load)", race_ratio.get(("stream_64KiB", "h2load", "ours-vs-tonic", "mb_per_s")), 1.1, "ge")
    target("peak RSS ours/tonic", rss["ours"] / rss["tonic"] if rss.get("ours") and rss.get("tonic") else None, 1.0, "le")
    target("server allocations per unary call, ours/tonic", cg_ratio("dhat-server", "unary_c1", "ours", "tonic"), 1.0, "le")
    target("default stack instructions / bare stack (c=1)", cg_ratio("callgrind-server", "unary_c1", "ours", "bare"), 1.15, "le")
    target("bare stack instructions / hyper ceiling (c=1)", cg_ratio("callgrind-server", "unary_c1", "bare", "ceiling"), 1.25, "le")
    target("bare req/s / hyper ceiling, c=64 (race, h2load)", race_ratio.get(("unary_c64_1conn", "h2load", "bare-vs-ceiling", "rps")), 0.8, "ge")
    p("### Targets\n")
    p("| target | measured | limit | |")
    p("|---|---|---|---|")
    out.extend(targets)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
