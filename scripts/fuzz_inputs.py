#!/usr/bin/env python3
"""Robustness sweep: feeds mutated inputs to the ploutos binary and reports every run that did not
end as it should (exit 0 or 2 with a one-line error). Flags crashes, "internal error", sanitizer
reports and silent failures, and keeps one example of each under --keep.

    scripts/fuzz_inputs.py                        # every target, 100 mutations each, build/ploutos
    scripts/fuzz_inputs.py --bin build-asan/ploutos --targets model,journal --runs 50 --seed 3

Not part of CI: seeds differ in what they find, and a sanitizer build takes a while. See
docs/architecture.md ("Damaged inputs are input errors"). Uses ../shared/data when present, else
the synthetic market it generates.
"""
import argparse, collections, os, random, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JUNK = [b"\x00", b"nan", b"-1e309", b"inf", b",,,", b"\n\n", b"\r\n", b"\xff\xfe", b"9" * 40, b'"', b"'", b"#",
        b"{", b"[", b": :", b"\t"]


def mutate(data, rng):
    b = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0 and b:
        return bytes(b[: rng.randrange(len(b))])  # truncate
    if kind == 1:
        for _ in range(rng.randrange(1, 20)):  # overwrite bytes
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 2:  # insert junk
        at = rng.randrange(len(b) + 1)
        return bytes(b[:at] + rng.choice(JUNK) * rng.randrange(1, 4) + b[at:])
    if kind in (3, 4) and b:  # delete or duplicate a range
        at = rng.randrange(len(b))
        to = min(len(b), at + rng.randrange(1, 200))
        return bytes(b[:at] + b[to:]) if kind == 3 else bytes(b[:to] + b[at:to] + b[to:])
    lines = bytes(b).split(b"\n")  # swap, delete or duplicate a line
    if len(lines) > 2:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        op = rng.randrange(3)
        if op == 0:
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 1:
            del lines[i]
        else:
            lines.insert(i, lines[j])
    return b"\n".join(lines)


class Sweep:
    def __init__(self, binary, work, keep, rng):
        self.binary, self.work, self.keep, self.rng = binary, work, keep, rng
        self.problems = 0

    def run(self, args):
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=0"))
        try:
            p = subprocess.run([self.binary] + args, capture_output=True, timeout=300, cwd=self.work, env=env)
        except subprocess.TimeoutExpired:
            return "timeout", ""
        return p.returncode, p.stderr.decode("utf-8", "replace")

    # errors: "one_line" (one "ploutos: error" line), "per_file" (config validate lists every problem,
    # each line naming the file) or "report" (data check: exit 2 is its verdict on the data, with
    # the report on stdout).
    def target(self, name, original, suffix, args_of, runs, errors="one_line"):
        codes, found, example = collections.Counter(), collections.Counter(), {}
        for i in range(runs):
            data = mutate(original, self.rng)
            if self.rng.random() < 0.3:
                data = mutate(data, self.rng)
            path = os.path.join(self.work, f"{name}_{i % 4}{suffix}")
            with open(path, "wb") as f:
                f.write(data)
            code, err = self.run(args_of(path))
            codes[code] += 1
            lines = [line for line in err.strip().splitlines() if line]
            problem = None
            if "ERROR: AddressSanitizer" in err or "runtime error:" in err:
                problem = "sanitizer"
            elif code not in (0, 2):
                problem = f"exit {code}"
            elif "internal error" in err:
                problem = "internal error"
            elif code != 0 and not lines:
                problem = "no message"
            elif code != 0 and errors == "one_line" and sum(line.startswith("ploutos: error") for line in lines) != 1:
                problem = "not one error line"
            elif code != 0 and errors == "per_file" and any(not line.startswith(path) for line in lines):
                problem = "a line that names no file"
            if problem:
                key = problem + ": " + (lines[-1][:160] if lines else "")
                found[key] += 1
                if key not in example:
                    example[key] = os.path.join(self.keep, f"{name}_{len(example)}{suffix}")
                    shutil.copy(path, example[key])
        print(f"{name}: {runs} runs, exit codes {dict(codes)}")
        for key, count in found.most_common():
            print(f"  {count:4d}  {key}  [{example[key]}]")
        self.problems += sum(found.values())
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "ploutos"))
    parser.add_argument("--targets", default="csv,yaml,model,journal,backtest")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "ploutos-fuzz-kept"))
    a = parser.parse_args()
    targets = set(a.targets.split(","))
    os.makedirs(a.keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="ploutos-fuzz-")
    sweep = Sweep(os.path.abspath(a.bin), work, a.keep, random.Random(a.seed))

    daily = os.path.join(ROOT, "..", "shared", "data", "daily", "AAPL.csv")
    if not os.path.exists(daily):
        print("../shared/data is absent: mutating a synthetic ticker instead")
        subprocess.run([sweep.binary, "-q", "data", "synth", "--tickers", "SYNA", "--days", "400", "--out", "m"],
                       cwd=work, check=True)
        daily = os.path.join(work, "m", "1d", "SYNA.csv")
    csv = b"\n".join(open(daily, "rb").read().split(b"\n")[:400]) + b"\n"
    if "csv" in targets:
        sweep.target("csv_check", csv, ".csv", lambda p: ["data", "check", p, "--json"], a.runs, errors="report")
        sweep.target("csv_import", csv, ".csv", lambda p: ["data", "import", p, "--data", "store", "--ticker", "T"],
                     a.runs)
    if "yaml" in targets:
        for name in ("training_config_v6_better_timing", "quickstart", "autonomous_config"):
            text = open(os.path.join(ROOT, "config", name + ".yaml"), "rb").read()
            sweep.target("yaml_" + name, text, ".yaml", lambda p: ["config", "validate", p], a.runs, errors="per_file")
        text = open(os.path.join(ROOT, "config", "quickstart.yaml"), "rb").read()
        sweep.target("yaml_show", text, ".yaml", lambda p: ["--config", p, "config", "show", "--json"], a.runs)
    if targets & {"model", "backtest", "journal"}:
        quickstart = os.path.join(ROOT, "config", "quickstart.yaml")
        subprocess.run([sweep.binary, "-q", "train", "--config", quickstart, "--timesteps", "4096", "--out", "m.pt",
                        "--metrics-dir", "runs"], cwd=work, check=True)
        model = open(os.path.join(work, "m.pt"), "rb").read()
        if "model" in targets:
            sweep.target("model_info", model, ".pt", lambda p: ["model", "info", p, "--json"], a.runs)
        if "backtest" in targets:
            sweep.target("model_backtest", model, ".pt", lambda p: ["-q", "backtest", "--model", p, "--data",
                                                                    "synthetic", "--days", "30", "--out", "bt"],
                         max(1, a.runs // 4))
        if "journal" in targets:
            subprocess.run([sweep.binary, "-q", "trade", "--paper", "--broker", "sim", "--model", "m.pt", "--data",
                            "synthetic", "--journal", "j.sqlite", "--start-bars", "20", "--cycles", "5"],
                           cwd=work, check=True)
            journal = open(os.path.join(work, "j.sqlite"), "rb").read()
            sweep.target("journal", journal, ".sqlite", lambda p: ["journal", p, "--json"], a.runs)
    shutil.rmtree(work, ignore_errors=True)
    print(f"{sweep.problems} problem runs" + (f"; examples in {a.keep}" if sweep.problems else ""))
    return 1 if sweep.problems else 0


if __name__ == "__main__":
    sys.exit(main())
