"""``mpt synth``: write a synthetic dataset: CASME II or CAS(ME)^3 clips, or CAS(ME)^2 / SAMM-LV long videos."""

from pathlib import Path
from typing import Optional

import typer

from .app import app, check_choice, fail

LAYOUTS = ("casme2", "casme3", "cas2", "samm-lv")
LONG_LAYOUTS = ("cas2", "samm-lv")


@app.command("synth")
def synth(
    out_dir: Path = typer.Argument(..., help="Output folder."),
    layout: str = typer.Option("casme2", "--layout", help="casme2: cropped 224 px faces, Cropped/subXX/CLIP/"
                               "reg_imgN.jpg + CASME2-coding-synth.xlsx, 200 fps. casme3: whole 320x240 frames with "
                               "the face somewhere inside (found by `--face auto`), part_A/spNO.N/REC/color/N.jpg + a "
                               "label table with the real CAS(ME)^3 columns, 30 fps. cas2: long videos "
                               "rawpic/s15/15_0101synthetic/imgN.jpg + CASME_sq_gt_synth.xlsx, 30 fps. samm-lv: long "
                               "videos SAMM_longvideos/006_1/006_1_NNNN.jpg (greyscale) + SAMMLV_gt_synth.xlsx and "
                               "SAMM_Micro_FACS_Codes_synth.xlsx, 200 fps."),
    subjects: Optional[int] = typer.Option(None, "--subjects", min=1, max=99, help="Number of subjects (distinct "
                                           "procedural faces). Default: 26; 12 for the long-video layouts."),
    clips_per_subject: int = typer.Option(10, "--clips-per-subject", min=1, max=300, help="Clips per subject "
                                          "(casme2, casme3)."),
    videos_per_subject: int = typer.Option(3, "--videos-per-subject", min=1, max=9, help="Long videos per subject "
                                           "(cas2, samm-lv)."),
    seconds: float = typer.Option(40.0, "--seconds", min=2.0, max=600.0, help="Mean length of a long video in "
                                  "seconds; each is 0.5-1.5 times it (cas2, samm-lv)."),
    width: int = typer.Option(640, "--width", min=128, help="Frame width of the long videos (cas2, samm-lv)."),
    height: int = typer.Option(480, "--height", min=96, help="Frame height of the long videos (cas2, samm-lv)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed gives the same bytes."),
    size: int = typer.Option(224, "--size", min=32, help="casme2 layout: frame side in pixels (motion amplitudes "
                             "scale with it)."),
    jobs: int = typer.Option(None, "--jobs", min=1, help="Parallel worker processes (default: all CPU cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset made there with other settings."),
    preset: str = typer.Option("real", "--preset", help="How hard the motion is to read. real: calibrated to real "
                               "CASME II clips (every region moves a little where nothing is annotated, AU "
                               "amplitudes spread over a factor of about 3, the real AU frequencies and head motion; "
                               "docs/guide/realism.md). easy: clean AU motion on a still face (the generator before "
                               "format version 2)."),
) -> None:
    """Generate a synthetic micro-expression dataset whose labels live only in subtle AU-like motion.

    A finished dataset with the same settings is reused. Prints the annotation-file path last; read it with
    `mpt datasets summary casme2 --root OUT_DIR` (or the --layout's name). Long videos also list every
    blink, head turn and expression in OUT_DIR/synth-events.json.
    """
    check_choice(layout, LAYOUTS, "--layout")
    from preprocess.synth.presets import PRESETS

    check_choice(preset, tuple(PRESETS), "--preset")
    if layout in LONG_LAYOUTS:
        from preprocess.synth.longvideo import MAX_SUBJECTS, generate_long_videos

        subjects = 12 if subjects is None else subjects
        if subjects > MAX_SUBJECTS[layout]:
            fail(f"--subjects {subjects}: the {layout} layout has room for {MAX_SUBJECTS[layout]}")
        table = generate_long_videos(out_dir, layout=layout, subjects=subjects, videos_per_subject=videos_per_subject,
                                     seconds=seconds, seed=seed, width=width, height=height, jobs=jobs, progress=True,
                                     overwrite=overwrite, preset=preset)
    elif layout == "casme3":
        from preprocess.synth import generate_synthetic_casme3

        table = generate_synthetic_casme3(out_dir, subjects=subjects or 26, clips_per_subject=clips_per_subject,
                                          seed=seed, jobs=jobs, progress=True, overwrite=overwrite,
                                          preset=preset)
    else:
        from preprocess.synth import generate_synthetic

        table = generate_synthetic(out_dir, subjects=subjects or 26, clips_per_subject=clips_per_subject, seed=seed,
                                   size=size, jobs=jobs, progress=True, overwrite=overwrite, preset=preset)
    typer.echo(str(table))
