"""Synthetic multi-task visual data with exact ground truth: shapes on images and in short videos.

    python -m train.synthetic --out data/synthetic --seed 0 --train 2000 --validation 200 --test 200

Every task of the catalogue that can be asked about coloured shapes is covered (multiple choice,
counting, spatial / temporal / spatio-temporal grounding, tracking, image and video segmentation,
captioning), deterministic from one seed, written in the SFT, RL and evaluation formats
(:mod:`train.synthetic.write`).  Used to train and measure the nano model (issue H) and in tests.
"""

from train.synthetic.samples import GENERATORS, Sample
from train.synthetic.write import DEFAULT_MIX, SPLITS, generate, make_samples, write_split

__all__ = ["GENERATORS", "Sample", "DEFAULT_MIX", "SPLITS", "generate", "make_samples", "write_split"]
