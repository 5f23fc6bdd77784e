"""Reads what the engine wrote for the tracking tools back with those tools' own readers and
prints it as JSON for the C++ tests to compare.

  tracking_reader.py tensorboard DIR        scalars, hparams and events count via tensorboard
  tracking_reader.py mlflow URI EXPERIMENT  the experiment's runs via MLflow's client
"""
import glob
import json
import os
import sys


def tensorboard(directory):
    from tensorboard.backend.event_processing import event_accumulator, event_file_loader
    from tensorboard.plugins.hparams import plugin_data_pb2

    files = sorted(glob.glob(directory + "/events.out.tfevents.*"))
    # The loader stops at the first record whose CRC does not match, so a full count means
    # every record's framing and checksums are right.
    events = sum(1 for f in files for _ in event_file_loader.EventFileLoader(f).Load())
    acc = event_accumulator.EventAccumulator(
        directory, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"])
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    hparams = {}
    for key, value in start.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        hparams[key] = getattr(value, kind)
    return {
        "files": len(files),
        "events": events,
        "scalars": scalars,
        "hparams": hparams,
        "metrics": [m.name.tag for m in experiment.experiment.metric_infos],
        "end_status": end.session_end_info.status,  # 1 success, 2 failure, 3 running
    }


def mlflow_runs(uri, experiment):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow >= 3 asks before reading file stores
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    runs = []
    for run in client.search_runs([found.experiment_id]):
        artifacts, folders = [], [None]
        while folders:
            for item in client.list_artifacts(run.info.run_id, folders.pop()):
                (folders if item.is_dir else artifacts).append(item.path)
        runs.append({
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "params": run.data.params,
            "tags": run.data.tags,
            "metrics": {key: [[m.step, m.value, m.timestamp]
                              for m in client.get_metric_history(run.info.run_id, key)]
                        for key in run.data.metrics},
            "artifacts": sorted(artifacts),
        })
    return {"experiment_id": found.experiment_id, "runs": runs}


def main():
    tool = sys.argv[1]
    if tool == "tensorboard":
        print(json.dumps(tensorboard(sys.argv[2])))
    else:
        print(json.dumps(mlflow_runs(sys.argv[2], sys.argv[3])))


if __name__ == "__main__":
    main()
