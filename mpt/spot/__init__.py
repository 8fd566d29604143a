"""Spotting micro- and macro-expressions in long videos (``mpt spot``): track and stabilise the face,
score the motion per frame, pick intervals (``mpt_core.spotting``), and score them against a
corpus with the MEGC metric (``mpt_core.spot_metric``)."""
