#!/usr/bin/python3
"""Makes the golden log-Mel references for tests/features_test.cpp with torchaudio's Kaldi fbank.

Each case stores its input (float32 samples, made here by formula and a seeded generator) and
torchaudio.compliance.kaldi.fbank's output as .npy, and fbank_reference.json records the settings.
Run with Debian's python3-torchaudio:  /usr/bin/python3 tests/golden/make_fbank_reference.py
"""
import json
import os

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

HERE = os.path.dirname(os.path.abspath(__file__))


def test_signal(sample_rate_hz, seconds, seed):
    """Leading digital silence (the log floor), then harmonics under a slow amplitude swell,
    a linear chirp up to near Nyquist, a DC offset (DC removal) and low white noise."""
    n = int(round(seconds * sample_rate_hz))
    t = np.arange(n, dtype=np.float64) / sample_rate_hz
    nyquist_hz = sample_rate_hz / 2
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)
    harmonics = sum(np.sin(2 * np.pi * 155.0 * k * t + 0.3 * k) / k for k in range(1, 9))
    f0_hz, f1_hz = 100.0, 0.9 * nyquist_hz
    chirp = np.sin(2 * np.pi * (f0_hz * t + 0.5 * (f1_hz - f0_hz) / seconds * t * t))
    noise = np.random.default_rng(seed).standard_normal(n)
    x = 0.25 * swell * harmonics + 0.2 * chirp + 0.05 + 0.003 * noise
    x[: int(0.1 * sample_rate_hz)] = 0.0
    return x.astype(np.float32)


CASES = [
    # The model's front end: Hann window, 64 bands from 20 Hz to Nyquist.
    dict(name="hann64_16k", seconds=1.0, seed=1,
         fbank=dict(sample_frequency=16000, window_type="hanning", num_mel_bins=64,
                    low_freq=20, high_freq=0, frame_length=25, frame_shift=10,
                    preemphasis_coefficient=0.97, remove_dc_offset=True)),
    # Povey window, another rate, and high_freq as an offset below Nyquist.
    dict(name="povey23_8k", seconds=0.6, seed=2,
         fbank=dict(sample_frequency=8000, window_type="povey", num_mel_bins=23,
                    low_freq=64, high_freq=-200, frame_length=25, frame_shift=10,
                    preemphasis_coefficient=0.97, remove_dc_offset=True)),
    # Hamming window, other frame sizes, no pre-emphasis, no DC removal.
    dict(name="hamming40_16k", seconds=0.4, seed=3,
         fbank=dict(sample_frequency=16000, window_type="hamming", num_mel_bins=40,
                    low_freq=100, high_freq=7000, frame_length=20, frame_shift=12.5,
                    preemphasis_coefficient=0.0, remove_dc_offset=False)),
]

# Fixed for every case: what spkid computes (no dither, no energy term, snip_edges, power, log).
COMMON = dict(dither=0.0, use_energy=False, snip_edges=True, round_to_power_of_two=True,
              use_power=True, use_log_fbank=True, subtract_mean=False)


def main():
    manifest = dict(torch=torch.__version__, torchaudio=torchaudio.__version__,
                    common=COMMON, cases=[])
    for case in CASES:
        rate = case["fbank"]["sample_frequency"]
        samples = test_signal(rate, case["seconds"], case["seed"])
        fbank = kaldi.fbank(torch.from_numpy(samples).unsqueeze(0), **COMMON, **case["fbank"])
        input_file = case["name"] + "_input.npy"
        expected_file = case["name"] + "_fbank.npy"
        np.save(os.path.join(HERE, input_file), samples)
        np.save(os.path.join(HERE, expected_file), fbank.numpy().astype(np.float32))
        manifest["cases"].append(dict(name=case["name"], input=input_file,
                                      expected=expected_file, fbank=case["fbank"]))
        print(f"{case['name']}: {samples.size} samples -> {tuple(fbank.shape)}")
    with open(os.path.join(HERE, "fbank_reference.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
