"""Spotting micro- and macro-expressions in long videos (``mpt spot``): track and stabilise the face,
score the motion per frame, pick intervals (``mpt_core.spotting``), and score them against a
corpus with the MEGC metric (``mpt_core.spot_metric``).

For code that builds on spotting (spot-then-recognize):

- ``source.open_input(path, fps)`` -> ``LongInput``; a corpus video: ``LongInput(str(v.folder), v.fps,
  v.frames, v.numbers, v.subject, v.video)`` from ``preprocess.readers.read_long_videos``;
- ``run.measure(long_input)`` -> ``VideoSignal`` (the expensive part: tracking, flow, scores), then
  ``signal.spots(p, SpotSettings())`` -> ([{"onset", "apex", "offset", "type", "score"}] in the
  input's frame numbers, blink frames): cheap, so p can be chosen on other subjects' signals;
- ``run.spot_dataset(name, root, annotations)`` -> the whole corpus with p chosen leave-one-subject-out
  (``result["folds"][subject]["p"]``), ``run.spot_inputs([paths])`` for single inputs;
- ``mpt_core.spot_metric.match(predicted, truth)`` -> one-to-one (prediction, truth, IoU) pairs, and
  ``evaluate`` for the MEGC counts.
The micro-expressions of a corpus as recognition clips: ``preprocess.readers.read_dataset("cas2" |
"samm-lv", root)`` (class presets ``cas2-4``/``cas2-3``, ``samm-lv-5``/``samm-lv-3``).
"""
