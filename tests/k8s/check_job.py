"""Checks a manifest from `nabla sweep FILE --k8s-job` with the Kubernetes Python client.

Usage: check_job.py JOB.yaml CELLS PARALLELISM

The YAML is parsed with PyYAML and deserialized into the client's `V1Job` model, then
serialized back: a misspelled or misplaced field is dropped by the model (and a field of the
wrong type fails), so equality with the parsed document means every field is one the
batch/v1 Job API knows, where it belongs. Then the Indexed Job's own settings are checked.
"""
import json
import sys

import yaml
from kubernetes import client


def main():
    path, cells, parallelism = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path) as f:
        doc = yaml.safe_load(f)
    api = client.ApiClient()
    # The client's own model deserializer (its public wrapper's signature varies by version).
    job = api._ApiClient__deserialize(json.loads(json.dumps(doc)), "V1Job")
    back = api.sanitize_for_serialization(job)
    if back != doc:
        sys.exit(f"fields the Job API does not know:\nparsed: {doc}\nmodel:  {back}")
    assert job.api_version == "batch/v1" and job.kind == "Job", (job.api_version, job.kind)
    spec = job.spec
    assert spec.completion_mode == "Indexed", spec.completion_mode
    assert spec.completions == cells, spec.completions
    assert spec.parallelism == parallelism, spec.parallelism
    pod = spec.template.spec
    assert pod.restart_policy == "Never", pod.restart_policy
    (container,) = pod.containers
    command = container.command
    assert command[:2] == ["nabla", "sweep"] and "--cell" in command, command
    # `--cell` takes its number from JOB_COMPLETION_INDEX: it must not be followed by one.
    after = command[command.index("--cell") + 1 :]
    assert not after or after[0].startswith("--"), command
    (mount,) = container.volume_mounts
    (volume,) = pod.volumes
    assert mount.name == volume.name and volume.persistent_volume_claim.claim_name, volume
    assert command[2].startswith(mount.mount_path + "/"), (command, mount.mount_path)
    print(f"k8s job ok: {cells} indexed completions, parallelism {parallelism}")


main()
