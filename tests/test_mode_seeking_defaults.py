"""Issue 12: one default discriminator (the appendix's whole-image one, "global") for the class,
`kerasgan train glomeruli` and `kerasgan ablation glomeruli`."""

import inspect


def test_class_cli_and_ablation_share_the_appendix_discriminator(tmp_path):
    from kerasgan.cli import CommandRegistry, build_parser
    from kerasgan.glomeruli import commands
    from kerasgan.glomeruli.ablation import AblationSettings
    from kerasgan.models.mode_seeking_pix2pix import ModeSeekingPix2Pix

    default = inspect.signature(ModeSeekingPix2Pix.__init__).parameters["discriminator"].default
    assert default == "global"  # appendix table 2, the paper's D
    assert AblationSettings().discriminator == default
    registry = CommandRegistry()
    commands.register(registry)
    parser = build_parser(registry)
    assert parser.parse_args(["train", "glomeruli", "--out", str(tmp_path)]).discriminator == default
    assert parser.parse_args(["ablation", "glomeruli"]).discriminator == default
