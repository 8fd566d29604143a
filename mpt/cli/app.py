"""The Typer application every command module registers on."""

import typer

app = typer.Typer(
    name="mpt",
    help="Motion Prompt Tuning for micro-expression recognition: read datasets, preprocess "
    "them into HDF5 caches, train and evaluate leave-one-subject-out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
datasets_app = typer.Typer(help="Inspect micro-expression datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
