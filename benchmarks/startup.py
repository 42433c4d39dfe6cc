"""Start-up time: `keras-ssl --help`, `import keras_ssl`, and the first SimCLR training step.

Prints one JSON line. Every figure comes from a fresh Python process, so imports are
cold (up to the operating system's file cache), as for a user who types the command:

- `help_seconds`: wall time of `keras-ssl --help` (the console script's code, run
  from this checkout), median of `--repeats` runs; the target is < 1 s;
- `import_seconds`: `import keras_ssl` inside the process, median of `--repeats` runs;
  `import_pulls_keras` says whether it imported Keras (it should not);
- `first_step`: the time to the first finished SimCLR training step, as
  `keras-ssl pretrain` and `reproduce umea --profile cpu-small` build it
  (`keras_ssl.experiments.pretraining.build_pretext_model`: MobileNetV2 alpha 1.0 at
  32x32, the `umea` views, projection 256-128, Adam, batch 128), in phases:
  `import` (Keras, TensorFlow, keras_ssl), `build` (encoder, pretext model, compile),
  `data` (the `tf.data` pipeline), `first_step` (from `fit` to the end of step 1:
  graph tracing, graph optimisation and the step itself), `steady_step` (step 2), and
  `trace_estimate` = first_step - steady_step. `train_step_traces` counts how often
  Keras' `train_step` was traced: 2 means the step was traced twice (variables created
  inside the first trace make `tf.function` trace again).

Usage: python benchmarks/startup.py [--repeats 3] [--batch-size 128] [--skip-first-step]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELP = "from keras_ssl.cli import main; raise SystemExit(main())"
IMPORT = (
    "import sys, time; t = time.perf_counter(); import keras_ssl; "
    "print(time.perf_counter() - t, 'keras' in sys.modules)"
)


def _environment() -> dict:
    """This checkout first on the path; TensorFlow's C++ log lines off."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _run(args: list, timeout: float = 900) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=ROOT,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def help_seconds(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _run(["-c", HELP, "--help"])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_seconds(repeats: int) -> tuple[float, bool]:
    runs = [_run(["-c", IMPORT]).split() for _ in range(repeats)]
    return statistics.median(float(seconds) for seconds, _ in runs), runs[0][1] == "True"


def first_step(batch_size: int) -> dict:
    """Runs in a fresh process (`--first-step`): the phases up to the first finished step."""
    start = time.perf_counter()
    marks = {}

    def mark(name):
        marks[name] = time.perf_counter()

    import keras
    import numpy as np

    import keras_ssl
    from keras_ssl import experiments
    from keras_ssl.data import ImageSet, pretraining_pipeline
    from keras_ssl.experiments import pretraining

    keras_ssl.SimCLR  # noqa: B018  (the pretext models' modules, as `fit` needs them)
    mark("import")

    umea = experiments.load("umea", "cpu-small", [f"pretrain.batch_size={batch_size}"])
    keras.utils.set_random_seed(0)
    model = pretraining.build_pretext_model(umea.variants[0], seed=0)
    traces = []
    step = model.train_step

    def counted_train_step(data):
        traces.append(1)  # runs once per trace in graph mode
        return step(data)

    model.train_step = counted_train_step
    mark("build")

    images = np.random.default_rng(0).integers(0, 256, (2 * batch_size, 32, 32, 3), "uint8")
    dataset = pretraining_pipeline(ImageSet(images=images), batch_size, seed=0)
    mark("data")

    class StepEnds(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            mark(f"step{batch + 1}")

    model.fit(dataset, epochs=1, verbose=0, callbacks=[StepEnds()])
    phases, previous = {}, start
    for name, moment in marks.items():
        phases[name] = round(moment - previous, 2)
        previous = moment
    return {
        "import": phases["import"],
        "build": phases["build"],
        "data": phases["data"],
        "first_step": phases["step1"],
        "steady_step": phases["step2"],
        "trace_estimate": round(phases["step1"] - phases["step2"], 2),
        "to_first_step": round(marks["step1"] - start, 2),
        "train_step_traces": len(traces),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of --help and the import")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--skip-first-step", action="store_true")
    parser.add_argument("--first-step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_step:  # the child process
        print(json.dumps(first_step(args.batch_size)))
        return

    help_time = help_seconds(args.repeats)
    import_time, import_pulls_keras = import_seconds(args.repeats)
    result = {
        "benchmark": "startup",
        "help_seconds": round(help_time, 3),
        "help_target_seconds": 1.0,
        "import_seconds": round(import_time, 3),
        "import_pulls_keras": import_pulls_keras,
    }
    if not args.skip_first_step:
        child = [__file__, "--first-step", "--batch-size", str(args.batch_size)]
        result["first_step"] = json.loads(_run(child).strip().splitlines()[-1])
    result.update(
        {
            "batch_size": args.batch_size,
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
