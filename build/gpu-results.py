#!/usr/bin/env python3
"""Writes the results file of a gpu-run.sh run (the bundle's tools/gpu-results.py; standard library only, Python 3.6+).

Usage: gpu-results.py OUT_DIR
Reads what the stages left in OUT_DIR (stages.tsv, run.env, logs/*.log, tests.xml, memcheck.xml, racecheck.xml,
compare-tf32-*/{table.md,*.json}, nccl.xml, conv-algorithms-tf32-*/{table.md,*.json}, train/metrics.json) and writes OUT_DIR/results.md plus a copy named
<date>-<gpu>.md, ready to commit as benchmarks/results/<date>-<gpu>.md: the GPU, driver, CUDA, cuBLAS and PyTorch
versions, the commit, the method, every stage's status and time, the test and sanitizer counts with every failure, the
side-by-side tables (TF32 off and on), the NCCL smoke test, the training run and the convolution-algorithm tables. A stage it has no section for still appears in the stage
table with its log's last lines, so a new stage needs no change here to be reported.
"""
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def env_file(path):
    values = {}
    for line in read(path).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


def stages(out):
    rows = []
    lines = read(os.path.join(out, "stages.tsv")).splitlines()[1:]
    for line in lines:
        parts = line.split("\t")
        while len(parts) < 5:
            parts.append("")
        rows.append({"name": parts[0], "status": parts[1], "seconds": parts[2], "budget": parts[3], "note": parts[4].strip()})
    return rows


def section(text, title):
    """The lines of env.log between '## title' and the next '## '."""
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return m.group(1) if m else ""


def environment(out):
    log = read(os.path.join(out, "logs", "env.log"))
    facts = {}
    smi = section(log, "nvidia-smi")
    m = re.search(r"CUDA Version:\s*([\d.]+)", smi)
    if m:
        facts["CUDA (driver API, nvidia-smi)"] = m.group(1)
    csv = [l for l in smi.splitlines() if l.count(",") >= 4 and not l.startswith("name")]
    if csv:
        p = [x.strip() for x in csv[0].split(",")]
        facts.update({"GPU": p[0], "driver": p[1], "memory": p[2], "compute capability": p[3], "max SM clock": p[4],
                      "power limit": p[5] if len(p) > 5 else ""})
    tk = section(log, "CUDA toolkit")
    m = re.search(r"release ([\d.]+), (V[\d.]+)", tk)
    if m:
        facts["CUDA toolkit (nvcc)"] = f"{m.group(1)} ({m.group(2)})"
    # compute-sanitizer --version prints "NVIDIA (R) Compute Sanitizer" then "Version 2025.3.0.0 (build ...)".
    m = re.search(r"Compute Sanitizer.*?\n.*?(Version \S+)", tk, re.S | re.I)
    if m:
        facts["compute-sanitizer"] = m.group(1)
    pyt = section(log, "python")
    m = re.search(r"^torch (\S+) cuda (\S+) cudnn (\S+) device (.*)$", pyt, re.M)
    if m:
        facts["PyTorch"] = f"{m.group(1)} (CUDA {m.group(2)}, cuDNN {m.group(3)}) on {m.group(4)}"
    elif pyt.strip():
        facts["PyTorch"] = pyt.strip().splitlines()[-1]
    m = re.search(r"^python (\S+)", pyt, re.M)
    if m:
        facts["Python"] = m.group(1)
    info = section(log, "convnet info")
    m = re.search(r"^CUDA: (.*)$", info, re.M)
    if m:
        facts["ConvNet.Gpu CUDA"] = m.group(1)
    m = re.search(r"driver \(CUDA API version\): (\S+), cuBLAS: (.*)$", info, re.M)
    if m:
        facts["driver (cuDriverGetVersion)"] = m.group(1)
        facts["cuBLAS"] = m.group(2)
    m = re.search(r"cuBLAS choice: (.*)$", info, re.M)
    if m:
        facts["cuBLAS choice"] = m.group(1)
    # The devices table: "│ 0 │ NVIDIA H200 │ 139.8 GiB │ 9.0 │ 132 │"
    for line in info.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if len(cells) == 5 and cells[0].isdigit() and cells[4].isdigit():
            facts.setdefault("GPU", cells[1])
            facts["device (convnet info)"] = f"{cells[1]}, {cells[2]}, compute capability {cells[3]}, {cells[4]} SMs"
            facts["SMs"] = cells[4]
            break
    host = section(log, "host")
    m = re.search(r"model name\s*:\s*(.*)", host)
    if m:
        cores = re.search(r"cores: (\d+)", host)
        facts["CPU"] = m.group(1).strip() + (", " + cores.group(1) + " cores" if cores else "")
    return facts


def xunit(path):
    """Totals and failures of an xunit.v3 -xml result file, or None."""
    if not os.path.exists(path):
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return {"error": f"unreadable ({e})"}
    total = passed = failed = skipped = errors = 0
    seconds = 0.0
    failures = []
    for a in root.iter("assembly"):
        total += int(a.get("total", 0))
        passed += int(a.get("passed", 0))
        failed += int(a.get("failed", 0))
        skipped += int(a.get("skipped", 0))
        errors += int(a.get("errors", 0))
        seconds += float(a.get("time", 0) or 0)
    for t in root.iter("test"):
        if t.get("result") == "Fail":
            msg = t.find("failure/message")
            text = (msg.text or "").strip() if msg is not None else ""
            failures.append((t.get("name", "?"), text.splitlines()[0][:300] if text else ""))
    return {"total": total, "passed": passed, "failed": failed, "skipped": skipped, "errors": errors,
            "seconds": seconds, "failures": failures}


def sanitizer_summary(out, tool):
    log = read(os.path.join(out, "logs", f"{tool}.log"))
    m = re.findall(r"ERROR SUMMARY: (\d+) error", log)
    first = [l for l in log.splitlines() if l.startswith("========= ") and "ERROR SUMMARY" not in l][:12]
    return (int(m[-1]) if m else None), first


def train(out):
    doc = read(os.path.join(out, "train", "metrics.json"))
    if not doc:
        return None
    try:
        return json.loads(doc)
    except ValueError:
        return None


def algorithm_rows(path):
    """Our conv-algorithms JSON as a markdown table (ms per algorithm forced, the autotuned ms and choice), for a run
    without the PyTorch peer, where compare_algorithms.py has no table to write. None when the file is missing."""
    doc = read(path)
    if not doc:
        return None
    try:
        rows = json.loads(doc).get("rows", [])
    except ValueError:
        return None
    algos, keys, cells = [], [], {}
    for r in rows:
        if r["algorithm"] not in algos:
            algos.append(r["algorithm"])
        if (r["op"], r["shape"]) not in keys:
            keys.append((r["op"], r["shape"]))
        cells[(r["op"], r["shape"], r["algorithm"])] = r
    forced = [a for a in algos if a != "autotuned"]
    out = ["| op | shape | " + " | ".join(forced) + " | autotuned | choice |",
           "|---|---|" + "---:|" * (len(forced) + 1) + "---|"]
    for op, shape in keys:
        ms = []
        for a in forced:
            r = cells.get((op, shape, a))
            ms.append("-" if r is None else f"{r['ms']:.3f}" + ("*" if r["ran"] != a else ""))
        auto = cells.get((op, shape, "autotuned"))
        out.append(f"| {op} | {shape} | " + " | ".join(ms) + " | " + (f"{auto['ms']:.3f} | {auto['ran']}" if auto else "- | -") + " |")
    out.append("")
    out.append("ms per call (median); * a forced algorithm that cannot run the shape fell back to Im2ColGemm.")
    return "\n".join(out)


def find_stage(st, name):
    return next((s for s in st if s["name"] == name), None)


def no_table(stage):
    return f"No table ({stage['status'] + ': ' + stage['note'] if stage else 'stage not run'})."


def test_counts(x):
    return f"{x['passed']} passed, {x['failed']} failed, {x['skipped']} skipped" if x and "error" not in x else ""


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "gpu"


def tail(path, n=15):
    return "\n".join(read(path).rstrip().splitlines()[-n:])


def main(argv):
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = argv[0]
    run = env_file(os.path.join(out, "run.env"))
    facts = environment(out)
    st = stages(out)
    mode = run.get("mode", "?")
    date = run.get("started", "")[:10] or "undated"
    gpu = facts.get("GPU", "unknown GPU")
    lines = []
    w = lines.append
    title = f"# ConvNet.Gpu on {gpu}, {date}" + (" (CI rehearsal against the stand-in driver)" if mode == "rehearsal" else "")
    w(title)
    w("")
    w(f"Written by `gpu-run.sh{' --rehearsal' if mode == 'rehearsal' else ''}` (the GPU bring-up kit, build/gpu-bundle.sh) "
      f"from commit `{run.get('commit', '?')}`; bundle: {run.get('bundle', '?')}. Host `{run.get('host', '?')}`, "
      f"started {run.get('started', '?')}, {run.get('seconds', '?')} s in all of a {run.get('budget', '?')} s budget; "
      f"load average {run.get('load_start', '?')} at the start, {run.get('load_end', '?')} at the end.")
    w("")
    w("## Stages")
    w("")
    w("| stage | status | seconds | budget | note |")
    w("|---|---|---:|---:|---|")
    for s in st:
        w(f"| {s['name']} | **{s['status']}** | {s['seconds']} | {s['budget']} | {s['note'].replace('|', '/')} |")
    w("")

    w("## Machine and versions")
    w("")
    if facts:
        w("| | |")
        w("|---|---|")
        for k in ["GPU", "device (convnet info)", "memory", "compute capability", "SMs", "max SM clock", "power limit",
                  "driver", "CUDA (driver API, nvidia-smi)", "driver (cuDriverGetVersion)", "CUDA toolkit (nvcc)", "cuBLAS",
                  "cuBLAS choice", "compute-sanitizer", "PyTorch", "Python", "ConvNet.Gpu CUDA", "CPU"]:
            if facts.get(k):
                w(f"| {k} | {facts[k].replace('|', '/')} |")
    else:
        w("(the env stage left no log)")
    w("")

    w("## Tests (the CUDA suites)")
    w("")
    t = xunit(os.path.join(out, "tests.xml"))
    if t is None:
        w("No test results (tests.xml): see the stage table.")
    elif "error" in t:
        w(f"tests.xml is {t['error']}.")
    else:
        w(f"Tests: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped, {t['errors']} errors "
          f"(total {t['total']}, {t['seconds']:.1f} s).")
        if t["failures"]:
            w("")
            w("Failures:")
            for name, msg in t["failures"][:60]:
                w(f"- `{name}`: {msg}")
            if len(t["failures"]) > 60:
                w(f"- ... and {len(t['failures']) - 60} more (tests.xml)")
    w("")

    w("## Sanitizers (compute-sanitizer, memory pool off)")
    w("")
    for tool in ("memcheck", "racecheck"):
        stage = find_stage(st, tool)
        if stage is None or stage["status"] == "skipped":
            w(f"- {tool}: not run ({stage['note'] if stage else 'no stage'})")
            continue
        errors, first = sanitizer_summary(out, tool)
        x = xunit(os.path.join(out, f"{tool}.xml"))
        counts = test_counts(x) or "no test results"
        w(f"- {tool}: **{stage['status']}**; ERROR SUMMARY: {errors if errors is not None else 'not reached'} errors; tests {counts}")
        for l in first:
            w(f"    - `{l[10:].strip()[:200]}`")
    w("")

    w("## Side by side with PyTorch")
    w("")
    for tf32 in ("off", "on"):
        d = os.path.join(out, f"compare-tf32-{tf32}")
        table = read(os.path.join(d, "table.md")).strip()
        stage = find_stage(st, f"compare-tf32-{tf32}")
        w(f"### TF32 {tf32}")
        w("")
        if table:
            w(table)
        else:
            w(no_table(stage))
        peer = read(os.path.join(d, "pytorch-cuda.json"))
        if peer:
            try:
                skipped = json.loads(peer).get("skipped") or []
                if skipped:
                    w("")
                    w("PyTorch rows not run: " + "; ".join(skipped))
            except ValueError:
                pass
        w("")

    w("## NCCL smoke test")
    w("")
    stage = find_stage(st, "nccl-smoke")
    x = xunit(os.path.join(out, "nccl.xml"))
    if stage is None:
        w("Not run.")
    else:
        counts = test_counts(x)
        w(f"**{stage['status']}**{'; tests ' + counts if counts else ''}. {stage['note']}".rstrip())
        for name, msg in (x or {}).get("failures", []):
            w(f"- `{name}`: {msg}")
    w("")

    w("## Training: `convnet train` LeNet-5 on the GPU")
    w("")
    m = train(out)
    if m is None:
        w("No metrics.json: see the train stage's log.")
    else:
        epochs = m.get("epochs", [])
        w(f"Device: {m.get('device', '?')}; model {m.get('model', '?')}, {m.get('parameters', '?')} parameters, seed {m.get('seed', '?')}.")
        w("")
        w("| epoch | train loss | train acc | test loss | test acc | seconds | images/s |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for e in epochs:
            w(f"| {e['epoch']} | {e['train_loss']:.4f} | {100 * e['train_accuracy']:.2f} % | {e['test_loss']:.4f} | "
              f"{100 * e['test_accuracy']:.2f} % | {e['seconds']:.2f} | {e['images_per_second']:,.0f} |")
        if epochs:
            w("")
            w(f"Final test accuracy {100 * epochs[-1]['test_accuracy']:.2f} %, {epochs[-1]['images_per_second']:,.0f} images/s in the last epoch.")
    w("")

    w("## Convolution algorithms (bench/conv-algorithms.sh)")
    w("")
    for tf32 in ("off", "on"):
        d = os.path.join(out, f"conv-algorithms-tf32-{tf32}")
        stage = find_stage(st, f"conv-algorithms-tf32-{tf32}")
        w(f"### TF32 {tf32}")
        w("")
        table = read(os.path.join(d, "table.md")).strip()
        ours = algorithm_rows(os.path.join(d, f"convnet-tf32-{tf32}.json"))
        if table:
            w(table)
        elif ours:
            w("Ours only (no PyTorch peer in this run):")
            w("")
            w(ours)
        else:
            w(no_table(stage))
        w("")

    known = {"env", "tests", "nccl-smoke", "memcheck", "racecheck", "compare-tf32-off", "compare-tf32-on", "train",
             "conv-algorithms-tf32-off", "conv-algorithms-tf32-on"}
    extra = [s for s in st if s["name"] not in known]
    if extra:
        w("## Other stages")
        w("")
        for s in extra:
            w(f"### {s['name']}: {s['status']}")
            w("")
            w("```")
            w(tail(os.path.join(out, "logs", f"{s['name']}.log")))
            w("```")
            w("")

    w("## Method")
    w("")
    w("- Tests: the xunit.v3 runner of the bundle over the `ConvNet.Gpu.Tests.Cuda` namespaces; every CUDA result is compared "
      "with the float64 reference and with the CPU backend at the per-op tolerances of docs/gpu-numerics.md.")
    w("- Sanitizers: `CONVNET_CUDA_POOL=0 compute-sanitizer --tool memcheck|racecheck --error-exitcode=1` over the GPU op suites "
      "(racecheck: the suites whose kernels use shared memory).")
    w("- Timing (both sides alike): 3 warm-up calls, then the median of at least 10 synchronized calls (at least 0.2 s); epochs are "
      "wall time of one pass over random device-resident images (ours through `Trainer.Fit`, which also uploads each host batch). "
      "PyTorch: cuDNN with `cudnn.benchmark = True`; its CUDA-graph rows capture forward, loss, backward and the SGD update once "
      "and replay them. TF32 is set identically on both sides in each table.")
    w("- Convolution algorithms: `bench/conv-algorithms.sh --tf32 off|on --repeats 10`: each algorithm forced, then autotuned, per "
      "shape of conv-shapes.json and conv-extra-shapes.json and pass, same timing rule; PyTorch's conv rows with cudnn.benchmark.")
    w("- NCCL: `NcclSmokeTests` (one rank, 1M floats all-reduced twice on device memory, compared bit for bit).")
    w("- Training: `convnet train --device cuda --model lenet5 --epochs 3 --batch-size 64 --seed 42` on the bundled Fashion-MNIST "
      "slice (20,000 training images, the 10,000 test images).")
    w("- Raw data next to this file in the run's output folder: stages.tsv, run.env, logs/, tests.xml, memcheck.xml, racecheck.xml, "
      "compare-tf32-*/ (JSON of both sides), nccl.xml, conv-algorithms-tf32-*/ (JSON of both sides), train/metrics.json.")
    text = "\n".join(lines).rstrip() + "\n"
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(text)
    name = f"{date}-{slug(gpu)}{'-rehearsal' if mode == 'rehearsal' else ''}.md"
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(text)
    print(f"results: {os.path.join(out, 'results.md')} (commit it as benchmarks/results/{name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
