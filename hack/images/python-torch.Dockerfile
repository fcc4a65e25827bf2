# The local stand-in for a PyTorch base image: Debian's Python 3.11 with a venv holding the torch
# stack (torch with its CUDA wheels, transformers, ...) pinned in trainer-image/requirements.txt, the
# pins both images share. hack/images.sh builds it once per machine and gives it to both Dockerfiles
# as BASE_IMAGE, so the trainer and the server share this multi-GB layer and each adds only its own.
# Build context: the repository root.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY trainer-image/requirements.txt /opt/lathe/requirements-torch.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /opt/lathe/requirements-torch.txt
# `python` and `pip` are the venv's, as `python` is conda's in pytorch/pytorch images.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
