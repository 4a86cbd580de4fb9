#!/usr/bin/python3
"""Far-field versions of an evaluation set laid out as <set>/enroll/<speaker>.wav and
<set>/test/<speaker>/NN.wav (the layout ../shared/tools/make_dev_sets.py writes): the enrollment
stays as it is (people enroll close to the device), every test clip is played in a simulated room
and mixed with noise at a fixed SNR, one new set per SNR:
  OUT/<set>-far-<snr>db/enroll/<speaker>.wav   a copy of the original enrollment
  OUT/<set>-far-<snr>db/test/<speaker>/NN.wav  the clip, reverberated, plus noise
The room is not spkid's training simulator (src/audio/channel.cpp): a response built from four
octave bands with their own decay (low frequencies ring longer), RT60 0.3-0.9 s, the source 1-4 m
away; the noise is one of the given recordings (a washing machine, a boiler, a tap), pink noise,
or mains hum with harmonics, at SNR dB relative to the reverberant speech. Seeded: the same input
and --seed give the same files.
usage: make_farfield_sets.py SET_DIR NOISE_DIR OUT_DIR [--snr 0 5 10 20] [--seed 1]"""
import argparse, glob, json, os, shutil
import numpy as np, soundfile as sf

RATE = 16000


def octave_room(rng):
    """A room impulse response: direct path, early reflections, band-wise decaying tails."""
    rt60 = rng.uniform(0.3, 0.9)
    distance_m = rng.uniform(1.0, 4.0)
    n = int(1.2 * rt60 * RATE)
    t = np.arange(n) / RATE
    h = np.zeros(n)
    onset = int((distance_m / 343.0) * RATE)  # the direct path arrives after the sound travels
    h[onset] = 1.0
    for _ in range(rng.integers(4, 10)):  # walls, floor, table
        k = onset + int(rng.uniform(0.002, 0.04) * RATE)
        if k < n:
            h[k] += rng.choice([-1, 1]) * rng.uniform(0.2, 0.6) / distance_m
    spectrum_bands = [(60, 250, 1.3), (250, 1000, 1.0), (1000, 4000, 0.8), (4000, 7900, 0.55)]
    tail = np.zeros(n)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    for low, high, rt_scale in spectrum_bands:
        noise = np.fft.rfft(rng.standard_normal(n))
        noise[(freqs < low) | (freqs >= high)] = 0
        band = np.fft.irfft(noise, n)
        band *= np.exp(-6.9 * t / (rt60 * rt_scale))
        tail += band
    tail[: onset + int(0.005 * RATE)] = 0
    # Farther away, more of the sound arrives through the room than directly.
    drr_db = 8 - 6 * np.log2(distance_m) + rng.uniform(-2, 2)
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(np.sum(tail ** 2), 1e-12))
    return h + tail, rt60


def noise_of(kind, n, rng, recordings):
    if kind == "recording":
        rec = recordings[rng.integers(len(recordings))]
        start = rng.integers(max(1, len(rec) - n))
        out = rec[start:start + n]
        return np.pad(out, (0, n - len(out)), mode="wrap")
    if kind == "pink":
        white = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / RATE)
        white[1:] /= np.sqrt(f[1:])
        white[0] = 0
        return np.fft.irfft(white, n)
    base = rng.choice([50.0, 60.0])  # hum: mains and its harmonics, slightly detuned
    t = np.arange(n) / RATE
    return sum(np.sin(2 * np.pi * base * k * (1 + rng.uniform(-0.002, 0.002)) * t + rng.uniform(0, 6.3))
               / k for k in range(1, 8))


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("usage: ")[1])
    ap.add_argument("set_dir"); ap.add_argument("noise_dir"); ap.add_argument("out_dir")
    ap.add_argument("--snr", type=float, nargs="+", default=[0, 5, 10, 20])
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    recordings = []
    for path in sorted(glob.glob(f"{a.noise_dir}/*.*")):
        x, r = sf.read(path, dtype="float64", always_2d=True)
        if r != RATE:
            raise SystemExit(f"{path}: {r} Hz; give 16 kHz noise")
        recordings.append(x.mean(axis=1))
    if not recordings:
        raise SystemExit(f"no noise recordings in {a.noise_dir}")
    name = os.path.basename(os.path.normpath(a.set_dir))
    clips = sorted(glob.glob(f"{a.set_dir}/test/*/*.wav"))
    for snr in a.snr:
        rng = np.random.default_rng([a.seed, int(round(snr * 10))])
        out = f"{a.out_dir}/{name}-far-{snr:g}db"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(f"{a.set_dir}/enroll", f"{out}/enroll")
        rooms = []
        for clip in clips:
            x, r = sf.read(clip, dtype="float64")
            if r != RATE:
                raise SystemExit(f"{clip}: {r} Hz; the sets are 16 kHz")
            h, rt60 = octave_room(rng)
            wet = np.convolve(x, h)[: len(x)]
            kind = rng.choice(["recording", "recording", "pink", "hum"])
            noise = noise_of(kind, len(wet), rng, recordings)
            speech_power = np.mean(wet ** 2)
            noise *= np.sqrt(speech_power / (max(np.mean(noise ** 2), 1e-20) * 10 ** (snr / 10)))
            y = wet + noise
            peak = np.max(np.abs(y))
            if peak > 0.99:
                y *= 0.99 / peak
            dest = f"{out}/test/{os.path.basename(os.path.dirname(clip))}/{os.path.basename(clip)}"
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            sf.write(dest, y.astype(np.float32), RATE, subtype="PCM_16")
            rooms.append({"clip": os.path.relpath(dest, out), "rt60_s": round(rt60, 3), "noise": str(kind)})
        meta = {"set": os.path.basename(out), "from": name, "snr_db": snr, "seed": a.seed, "clips": rooms}
        json.dump(meta, open(f"{out}/meta.json", "w"), indent=1)
        print(f"{os.path.basename(out)}: {len(clips)} clips at {snr:g} dB SNR")


if __name__ == "__main__":
    main()
