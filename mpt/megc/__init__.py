"""MEGC: the challenge leaderboards' metrics beside mpt's own (``score``), submission files (``files``) and
spot-then-recognize on an unseen set of long videos (``unseen``)."""
