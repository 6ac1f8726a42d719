#!/usr/bin/env python3
"""The trainer's TensorBoard event files read back by TensorBoard's own reader (the `tensorboard`
package from PyPI, in the .venv tools/setup makes): every scalar of a run -- its tag, step and
value -- equals metrics.jsonl, also across a SIGKILL and a resume; the config and the manifest are
text records; a sweep's HParams records (the experiment, each trial's values and outcome) read
back equal to its summary.jsonl.

usage: tensorboard_events_test.py TRAINER WORKDIR
"""
import json
import os
import pathlib
import subprocess
import sys

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import plugin_data_pb2

MODEL = {
    "name": "tb_small",
    "input": [1, 8, 8],
    "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"type": "linear", "out_features": 4}],
    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
    "data": {"format": "synthetic", "train": {"count": 256, "seed": 3, "shape": [1, 8, 8]},
             "validation": {"count": 64}, "classes": 4},
    "training": {"epochs": 3, "batch_size": 32, "chunk_size": 8, "seed": 5, "log_every": 2},
}

SWEEP = """
method: grid
metric: {name: val_loss, goal: minimize}
parameters:
  optimizer.lr: {values: [0.01, 0.1]}
  layers[0].out_channels: {min: 4, max: 5}
"""


def load(directory):
    acc = ea.EventAccumulator(str(directory), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def expected_scalars(run):
    """metrics.jsonl's numbers as the trainer mirrors them: step/<key> and epoch/<key>."""
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        j = json.loads(line)
        if j["type"] not in ("step", "epoch"):
            continue
        for key, value in j.items():
            if key in ("type", "step", "epoch", "batch") or not isinstance(value, (int, float)):
                continue
            out.setdefault(j["type"] + "/" + key, []).append((j["step"], value))
    return out


def check_run(run, failures):
    acc = load(run / "tensorboard")
    want = expected_scalars(run)
    got_tags = sorted(acc.Tags()["scalars"])
    if got_tags != sorted(want):
        failures.append(f"{run}: scalar tags {got_tags}, metrics.jsonl has {sorted(want)}")
        return
    for tag, points in want.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        # simple_value is a float32: compare with the float32 of the JSON value.
        import struct
        f32 = [(s, struct.unpack("f", struct.pack("f", v))[0]) for s, v in points]
        if got != f32:
            failures.append(f"{run}: {tag}: TensorBoard reads {got[:4]}..., metrics.jsonl says {f32[:4]}...")
    texts = acc.Tags()["tensors"]
    if "config" not in texts or "manifest" not in texts:
        failures.append(f"{run}: text records {texts}, expected config and manifest")
    else:
        config_text = acc.Tensors("config")[0].tensor_proto.string_val[0].decode()
        body = config_text.split("\n", 1)[1].rsplit("\n", 1)[0]
        if json.loads(body) != json.loads((run / "config.json").read_text()):
            failures.append(f"{run}: the config text record is not config.json")
    return acc


def main():
    trainer, work = sys.argv[1], pathlib.Path(sys.argv[2])
    import shutil
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model = work / "model.json"
    model.write_text(json.dumps(MODEL))
    failures = []

    # A run killed after step 10 (an epoch has 6 steps) and resumed: TensorBoard must show the
    # steps once, with the values metrics.jsonl keeps.
    run = work / "run"
    env = dict(os.environ, DETNN_FAULT_KILL_AFTER_STEP="10")
    killed = subprocess.run([trainer, "--model", str(model), "--run-dir", str(run), "--checkpoint-every", "3"],
                            env=env, capture_output=True, text=True)
    if killed.returncode == 0:
        failures.append("the run was not killed")
    resumed = subprocess.run([trainer, "--resume", str(run)], capture_output=True, text=True)
    if resumed.returncode != 0:
        sys.exit("resume failed: " + resumed.stdout + resumed.stderr)
    if len(list((run / "tensorboard").glob("events.out.tfevents.*"))) != 2:
        failures.append("expected one event file per process (2)")
    check_run(run, failures)

    off = subprocess.run([trainer, "--model", str(model), "--run-dir", str(work / "off"), "--tensorboard", "off",
                          "--epochs", "1"], capture_output=True, text=True)
    if off.returncode != 0 or (work / "off" / "tensorboard").exists():
        failures.append("--tensorboard off still wrote event files")

    # A sweep: the experiment at its root, one session per trial beside the trial's scalars.
    sweep_file = work / "sweep.yaml"
    sweep_file.write_text(SWEEP)
    sweep_dir = work / "sweep"
    r = subprocess.run([trainer, "sweep", "--model", str(model), "--sweep", str(sweep_file), "--sweep-dir",
                        str(sweep_dir)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("sweep failed: " + r.stdout + r.stderr)
    root = load(sweep_dir / "tensorboard")
    content = root.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    names = [h.name for h in experiment.hparam_infos]
    if names != ["optimizer.lr", "layers[0].out_channels"]:
        failures.append(f"experiment hparams {names}")
    if [v.number_value for v in experiment.hparam_infos[0].domain_discrete.values] != [0.01, 0.1]:
        failures.append("optimizer.lr's values are not the sweep's")
    if (experiment.hparam_infos[1].domain_interval.min_value, experiment.hparam_infos[1].domain_interval.max_value) != (4, 5):
        failures.append("out_channels' interval is not [4, 5]")
    if "epoch/val_loss" not in [m.name.tag for m in experiment.metric_infos]:
        failures.append("the experiment does not list epoch/val_loss")
    summary = [json.loads(l) for l in (sweep_dir / "summary.jsonl").read_text().splitlines()]
    for line in summary:
        trial_dir = sweep_dir / "trials" / ("%04d" % line["trial"])
        acc = check_run(trial_dir, failures)
        sessions = load(trial_dir / "tensorboard").PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(sessions["_hparams_/session_start_info"]).session_start_info
        end = plugin_data_pb2.HParamsPluginData.FromString(sessions["_hparams_/session_end_info"]).session_end_info
        values = {k: v.number_value for k, v in start.hparams.items()}
        if values != {k: float(v) for k, v in line["parameters"].items()}:
            failures.append(f"trial {line['trial']}: hparams {values}, summary {line['parameters']}")
        if start.group_name != "%04d" % line["trial"] or end.status != 1:  # STATUS_SUCCESS
            failures.append(f"trial {line['trial']}: group {start.group_name!r}, status {end.status}")
        final = [e.value for e in acc.Scalars("epoch/val_loss")][-1] if acc else None
        import struct
        if final != struct.unpack("f", struct.pack("f", line["metric"]["value"]))[0]:
            failures.append(f"trial {line['trial']}: final epoch/val_loss {final}, summary {line['metric']}")

    for f in failures:
        print("FAIL:", f)
    print("tensorboard events:", "ok" if not failures else f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
