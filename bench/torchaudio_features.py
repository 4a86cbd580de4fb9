#!/usr/bin/python3
"""The torchaudio side of bench/features_vs_torchaudio.sh: what `spkid features --no-vad` does,
in one Python process. Reads each file, mixes to mono, resamples to 16 kHz, computes the
64-band Kaldi fbank (Hann window, no dither, no energy term, mean-normalised, as spkid's
defaults) and writes OUT_DIR/<stem>.npy (float32, frames x 64).

Usage: /usr/bin/python3 bench/torchaudio_features.py -o OUT_DIR FILE...
"""
import argparse
import os

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

TARGET_RATE_HZ = 16000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True, help="directory for the .npy files")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    resamplers = {}  # one per input rate, so the filter kernel is built once
    with torch.inference_mode():
        for path in args.files:
            waveform, rate_hz = torchaudio.load(path)
            mono = waveform.mean(dim=0, keepdim=True)
            if rate_hz != TARGET_RATE_HZ:
                if rate_hz not in resamplers:
                    resamplers[rate_hz] = torchaudio.transforms.Resample(rate_hz, TARGET_RATE_HZ)
                mono = resamplers[rate_hz](mono)
            features = kaldi.fbank(mono, sample_frequency=TARGET_RATE_HZ, num_mel_bins=64,
                                   low_freq=20, high_freq=0, window_type="hanning", dither=0.0,
                                   use_energy=False, subtract_mean=True)
            stem = os.path.splitext(os.path.basename(path))[0]
            np.save(os.path.join(args.output, stem + ".npy"), features.numpy())


if __name__ == "__main__":
    main()
