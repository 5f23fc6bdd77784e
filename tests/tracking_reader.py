"""Reads what the engine wrote for the tracking tools back with those tools' own readers and
prints it as JSON for the C++ tests to compare.

  tracking_reader.py tensorboard DIR   scalars, hparams and events count via tensorboard
"""
import glob
import json
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


def main():
    tool, where = sys.argv[1], sys.argv[2]
    print(json.dumps({"tensorboard": tensorboard}[tool](where)))


if __name__ == "__main__":
    main()
