"""Options shared by the commands that read a user's raw clip (predict, describe, magnify): one
definition, one help text."""

from typing import Optional

import typer

ONSET: Optional[int] = typer.Option(None, "--onset", help="First frame: its number in the file names (a video: "
                                    "0-based index). Default: the first.")
OFFSET: Optional[int] = typer.Option(None, "--offset", help="Last frame, inclusive. Default: the last.")
FPS: Optional[float] = typer.Option(None, "--fps", help="Frame rate. Default: the video's; required for a folder "
                                    "of frames.")
FACE = "auto: find the face on the onset frame, level and crop it (one transform for the clip; the default for videos " \
       "and frame folders); none: the frames are already cropped to the face"
