"""The training job: `discrete-gan train | sample | models | plot | demo`.

Builds on the `discrete_gan` library and writes the on-disk registry the service reads.
"""
