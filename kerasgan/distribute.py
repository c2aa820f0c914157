"""Choosing a `tf.distribute` strategy from the environment, as the CLI does.

* `TF_CONFIG` naming a cluster of more than one worker -> MultiWorkerMirroredStrategy
  (one process per host; every host runs the same command with its own TF_CONFIG);
* several GPUs on one host -> MirroredStrategy;
* otherwise the default strategy.
"""

import dataclasses
import json
import os

import tensorflow as tf


@dataclasses.dataclass
class Cluster:
    strategy: object
    num_workers: int = 1
    worker_index: int = 0

    @property
    def is_chief(self):
        return self.worker_index == 0

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync


def cluster_from_environment():
    """The strategy and this process's place in the cluster, from TF_CONFIG and the devices."""
    raw = os.environ.get("TF_CONFIG", "")
    if raw:
        try:
            config = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from error
        cluster = config.get("cluster", {})
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        if workers > 1:
            task = config.get("task", {})
            index = int(task.get("index", 0))
            if task.get("type") == "worker" and cluster.get("chief"):
                index += 1
            communication = tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.RING
            )
            strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication)
            return Cluster(strategy, workers, index)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return Cluster(tf.distribute.MirroredStrategy())
    return Cluster(tf.distribute.get_strategy())


def in_multi_worker_mode(strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    extended = getattr(strategy, "extended", None)
    check = getattr(extended, "_in_multi_worker_mode", None)
    return bool(check and check())


def loggable(results):
    """Make a train/test step's logged scalars reducible by Keras under multi-worker training.

    Keras 3 reduces step outputs across workers with `strategy.reduce("MEAN", v, axis=0)`, which
    fails on rank-0 tensors; a length-1 axis gives the same mean. Elsewhere results pass as-is.
    """
    if not in_multi_worker_mode():
        return results
    return {key: tf.reshape(value, [1]) for key, value in results.items()}
