"""Peer rows of bench/profiles.py: skada's CORAL and OT mapping (independent implementations) feeding a forest.

Runs in the peer environment (bench/requirements-peer.txt), as bench/peer_skada.py does; bench/profiles.py
writes the job file and reads the answer, and target labels never reach this process.

Input (.npz): the adaptation ("coral" or "ot"), the seed, the standardised evidence of the source's training
voxels and their labels (the samples the plugin's forest is fitted on: our spatial-block split and class
balance), and the standardised evidence of every valid target voxel. Output (.npz): the target ore probability
per valid voxel, in the order given, and the fitting time.

What is ours and what is skada's: ours are the standardisation (each deposit by its own statistics, as the
plugin's forest does), the training samples and the forest's settings (core/learning/forest.py). skada's are the
mapping and how it feeds the forest: make_da_pipeline with CORALAdapter or OTMappingAdapter at their defaults.
Both map the source's training samples onto the target (skada's direction; the plugin's alignments map the
target onto the source), the forest is fitted on the mapped source and predicts the target (CORAL centres it).
The one change for this size: OT mapping (exact EMD, a cost matrix of training x target samples) is fitted on
OT_TARGET_VOXELS target voxels drawn with the job's seed instead of all of them; CORAL uses them all.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skada import CORALAdapter, OTMappingAdapter, make_da_pipeline
from sklearn.ensemble import RandomForestClassifier

SOURCE_DOMAIN, TARGET_DOMAIN = 1, -2  # skada's convention: sources positive, targets negative
ADAPTERS = {"coral": CORALAdapter, "ot": OTMappingAdapter}
OT_TARGET_VOXELS = 4000
FOREST = {"n_estimators": 200, "min_samples_leaf": 5, "n_jobs": 2}  # the plugin's (core/learning/forest.py)


def run(job: dict) -> dict:
    adaptation, seed = str(job["adaptation"]), int(job["seed"])
    train_samples, target_samples = job["train_samples"], job["target_samples"]
    fit_target = target_samples
    if adaptation == "ot" and len(target_samples) > OT_TARGET_VOXELS:
        rows = np.random.default_rng([seed, 24]).choice(len(target_samples), OT_TARGET_VOXELS, replace=False)
        fit_target = target_samples[np.sort(rows)]
    x = np.concatenate([train_samples, fit_target])
    y = np.concatenate([job["train_labels"].astype(np.int64), np.full(len(fit_target), -1)])  # -1: no label
    domain = np.concatenate([np.full(len(train_samples), SOURCE_DOMAIN), np.full(len(fit_target), TARGET_DOMAIN)])
    pipeline = make_da_pipeline(ADAPTERS[adaptation](), RandomForestClassifier(**FOREST, random_state=seed))
    started = time.perf_counter()
    pipeline.fit(x, y, sample_domain=domain)
    fit_s = time.perf_counter() - started
    probability = pipeline.predict_proba(target_samples, sample_domain=np.full(len(target_samples), TARGET_DOMAIN))
    ore_column = list(pipeline[-1].get_estimator().classes_).index(1)
    return {"probability": probability[:, ore_column].astype(np.float32),
            "fit_s": np.float64(fit_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help=".npz written by bench/profiles.py")
    parser.add_argument("answer", help=".npz to write")
    args = parser.parse_args()
    with np.load(args.job) as data:
        job = {key: data[key] for key in data.files}
    np.savez(args.answer, **run(job))


if __name__ == "__main__":
    main()
