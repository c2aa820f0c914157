"""MediSinGAN (Jethi et al.): SinGAN on one medical image, multi-channel stacking, harmonization.

    from kerasgan.models import SinGAN
    from kerasgan.medisingan import io, examples
    image, layout, ranges = io.stack_channels({"T1": t1, "T2": t2, "FLAIR": flair})
    sg = SinGAN(max_size=250).fit(image, channel_layout=layout, checkpoint_dir="run")
    parts = sg.split_channels(sg.sample(16, start_scale=1))     # {"T1": ..., "T2": ..., "FLAIR": ...}

Modules: `io` (DICOM/NIfTI/16-bit reading, per-channel scaling, stacking/splitting),
`examples` (offline real images, labelled), `commands` (CLI), `zoo_entry` (zoo loader).
"""
