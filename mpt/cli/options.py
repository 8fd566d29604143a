"""Options shared by the commands that read a user's raw clip (predict, describe, magnify): one
definition, one help text."""

from typing import Optional

import typer

ONSET: Optional[int] = typer.Option(None, "--onset", help="First frame: its number in the file names (a video: "
                                    "0-based index). Default: the first.")
OFFSET: Optional[int] = typer.Option(None, "--offset", help="Last frame, inclusive. Default: the last.")
FPS: Optional[float] = typer.Option(None, "--fps", help="Frame rate. Default: the video's; required for a folder "
                                    "of frames.")
FACE = "auto: find the face and its landmarks (dlib) on the onset frame, level and crop it (one transform for the " \
       "clip; the default for videos and frame folders); haar: the same with OpenCV's Haar eye cascades (the method " \
       "before landmarks); none: the frames are already cropped to the face"
FACE_OPTION: str = typer.Option("auto", "--face", help=FACE + ".")
LANDMARKS: str = typer.Option("68", "--landmarks", help="Landmark model of --face auto: 68 (dlib's 68 points, trained "
                              "on iBUG 300-W: non-commercial use) or 5 (eye corners and nose base: alignment only).")
TRACK: bool = typer.Option(False, "--track", help="Stabilise every frame by its own landmarks (for clips with head "
                           "motion) instead of one transform per clip.")
FRAMING: Optional[str] = typer.Option(None, "--framing", help="How the face is cut from raw frames: run (as the run's "
                                      "cache framed its faces; the default where a run is given), canonical (mpt's "
                                      "square crop, 2.8 x the inter-ocular distance), casme2 (CASME II's own crops), "
                                      "a cache file (.h5) or a run folder (as that cache framed its faces).")
