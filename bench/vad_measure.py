#!/usr/bin/python3
"""How much speech spkid's VAD finds in 3 s raw clips of real speech, across recording conditions.

Takes real speech from the dev corpus (never copied into the repository: every generated file goes
to a temporary folder), makes one 3 s raw clip per source, then renders every clip in these
conditions, written as 16-bit WAV like a real recording:

  clean       as recorded (16 kHz)
  soft-30     -30 dB gain
  soft-45     -45 dB gain (peaks around -50 dBFS)
  loud        gain to peak at -1 dBFS
  noisy-10    a noise recording of corpus/noise mixed in at 10 dB SNR
  noisy-0     the same at 0 dB SNR
  far-10      convolved with a synthetic room impulse response (exponential decay, RT60 0.6 s,
              direct path 1/4 of the energy), then noise at 10 dB SNR
  48k-soft    resampled to 48 kHz, -35 dB gain
  noise-only  the noise of noisy-10 alone, without the speech: every second found is a false alarm

SNR is the clean clip's mean power (pauses included) over the noise's. Each detector is a program
that prints per-file JSON lines with "speech_seconds" (`spkid info --json`); given an old spkid
too, both are run with their default VAD settings. Per condition the table gives the mean speech
seconds found per 3 s clip and the share of clips with less than 0.5 s of speech (which identify
refuses). With --compare (bench/vad_compare, built by hand), it also gives frame agreement with the
same detector's clean frames: recall (share of the clean clip's speech hops still found) and false
alarms (share of its non-speech hops now called speech), for the energy VAD and for WebRTC's.

Usage (from the repository root, with /usr/bin/python3, which has numpy and soundfile):
  bench/vad_measure.py build-vad/apps/spkid/spkid --old /tmp/spkid-vad-old/spkid \
      --compare /tmp/vad_compare --compare-old /tmp/spkid-vad-old/vad_compare
(vad_compare: see the build command at the top of bench/vad_compare.cpp). It takes a few seconds
of CPU: 40 clips by default.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

CORPUS = "/work/shared/corpus"
RATE = 16000
CLIP_SECONDS = 3.0
REFUSED_BELOW = 0.5
CONDITIONS = ["clean", "soft-30", "soft-45", "loud", "noisy-10", "noisy-0", "far-10", "48k-soft",
              "noise-only"]


def speaker_dirs(prefix):
    return sorted(glob.glob(os.path.join(CORPUS, "dev", prefix + "-*")))


def concatenated(files, start_file, seconds):
    """Consecutive files of one speaker from start_file on, until `seconds` of audio."""
    parts, total = [], 0
    for path in files[start_file:]:
        audio, rate = sf.read(path, dtype="float64", always_2d=True)
        assert rate == RATE, path
        parts.append(audio.mean(axis=1))
        total += len(parts[-1])
        if total >= seconds * RATE:
            break
    return np.concatenate(parts)


def source_clips(per_source):
    """(name, 3 s clean clip): so- and ar- from consecutive files of a speaker (as the dev
    protocol cuts test clips), ls- a 3 s window of a sentence at a seeded offset."""
    rng = np.random.default_rng(7)
    n = int(CLIP_SECONDS * RATE)
    clips = []
    for prefix, count in per_source:
        dirs = speaker_dirs(prefix)
        chosen = [dirs[int(i)] for i in np.linspace(0, len(dirs) - 1, count).round()]
        if len(set(chosen)) < count:  # fewer speakers than clips (ar-): two clips per speaker
            chosen = [dirs[i % len(dirs)] for i in range(count)]
        for index, folder in enumerate(chosen):
            files = sorted(glob.glob(os.path.join(folder, "*.*")))
            if prefix == "ls":
                audio = concatenated(files, 0, 0)
                offset = int(rng.integers(0, max(1, len(audio) - n)))
                audio = audio[offset:offset + n]
            else:
                start = int(rng.integers(0, max(1, len(files) - 8)))
                audio = concatenated(files, start, CLIP_SECONDS)
            if len(audio) < n:
                continue
            clips.append((f"{os.path.basename(folder)}-{index}", audio[:n]))
    return clips


def noise_pool():
    return [sf.read(path, dtype="float64")[0]
            for path in sorted(glob.glob(os.path.join(CORPUS, "noise", "*.flac")))]


def power(x):
    return float(np.mean(x ** 2)) + 1e-20


def add_noise(clean, noises, snr_db, rng, speech=1.0):
    noise = noises[int(rng.integers(len(noises)))]
    offset = int(rng.integers(0, len(noise) - len(clean)))
    piece = noise[offset:offset + len(clean)]
    piece = piece * np.sqrt(power(clean) / power(piece) / 10 ** (snr_db / 10))
    return speech * clean + piece


def room_impulse_response(rt60, rng, direct_share=0.25):
    length = int(rt60 * 1.2 * RATE)
    t = np.arange(length) / RATE
    tail = rng.standard_normal(length) * np.exp(-3 * np.log(10) * t / rt60)
    tail[:int(0.003 * RATE)] = 0  # the first reflections arrive a few ms after the direct path
    tail *= np.sqrt((1 - direct_share) / np.sum(tail ** 2))
    tail[0] = np.sqrt(direct_share)
    return tail


def fft_convolve(x, h):
    size = 1 << int(np.ceil(np.log2(len(x) + len(h))))
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:len(x)]


def upsample3(x):
    """16 kHz to 48 kHz: zeros inserted, then a Kaiser-windowed sinc low-pass at 7.6 kHz."""
    up = np.zeros(len(x) * 3)
    up[::3] = x * 3
    taps = np.arange(-96, 97)
    h = np.sinc(2 * 7600 / 48000 * taps) * 2 * 7600 / 48000 * np.kaiser(len(taps), 8)
    return np.convolve(up, h, mode="same")


def render(clean, condition, noises, rng):
    gain = lambda db: clean * 10 ** (db / 20)
    if condition == "clean":
        return clean, RATE
    if condition == "soft-30":
        return gain(-30), RATE
    if condition == "soft-45":
        return gain(-45), RATE
    if condition == "loud":
        return clean * (10 ** (-1 / 20) / np.max(np.abs(clean))), RATE
    if condition == "noisy-10":
        return add_noise(clean, noises, 10, rng), RATE
    if condition == "noisy-0":
        return add_noise(clean, noises, 0, rng), RATE
    if condition == "far-10":
        far = fft_convolve(clean, room_impulse_response(0.6, rng))
        return add_noise(far, noises, 10, rng), RATE
    if condition == "48k-soft":
        return upsample3(gain(-35)), 3 * RATE
    if condition == "noise-only":
        return add_noise(clean, noises, 10, rng, speech=0.0), RATE
    raise ValueError(condition)


def write_conditions(clips, folder):
    noises = noise_pool()
    rng = np.random.default_rng(11)
    files = {c: [] for c in CONDITIONS}
    for condition in CONDITIONS:
        os.makedirs(os.path.join(folder, condition), exist_ok=True)
        for name, clean in clips:
            audio, rate = render(clean, condition, noises, rng)
            path = os.path.join(folder, condition, name + ".wav")
            sf.write(path, np.clip(audio, -1, 32767 / 32768), rate, subtype="PCM_16")
            files[condition].append(path)
    return files


def speech_seconds(program, files, extra=()):
    out = subprocess.run([program, "info", "--json", "--jobs", "1", *extra] + files,
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        record = json.loads(line)
        found[record["file"]] = record.get("speech_seconds", 0.0)
    return [found[f] for f in files]


def masks(program, files):
    out = subprocess.run([program] + files, check=True, capture_output=True, text=True).stdout
    return {json.loads(line)["file"]: json.loads(line) for line in out.splitlines()}


def to_hops(mask):
    """One bool per 10 ms hop, at any sample rate."""
    return np.frombuffer(mask.encode(), dtype=np.uint8) == ord("1")


def print_table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(r, widths))))


def agreement(per_file, clean_per_file, key):
    """Recall of the clean speech hops and false alarms on the clean non-speech hops."""
    kept = speech = alarms = silence = 0
    for f, record in per_file.items():
        now = to_hops(record[key])
        ref = to_hops(clean_per_file[f][key])
        n = min(len(now), len(ref))
        now, ref = now[:n], ref[:n]
        kept += int(np.sum(now & ref))
        speech += int(np.sum(ref))
        alarms += int(np.sum(now & ~ref))
        silence += int(np.sum(~ref))
    return kept / max(1, speech), alarms / max(1, silence)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spkid", help="spkid program to measure (runs `spkid info --json`)")
    parser.add_argument("--old", help="another spkid, e.g. a copy saved before a VAD change")
    parser.add_argument("--new-args", default="",
                        help="extra `spkid info` flags for the new program, e.g. '--vad-snr-db 5'")
    parser.add_argument("--compare", help="bench/vad_compare built with the new VAD")
    parser.add_argument("--compare-old", help="bench/vad_compare built with the old VAD")
    parser.add_argument("--so", type=int, default=16, help="clips from dev/so-* (default 16)")
    parser.add_argument("--ar", type=int, default=12, help="clips from dev/ar-* (default 12)")
    parser.add_argument("--ls", type=int, default=12, help="clips from dev/ls-* (default 12)")
    parser.add_argument("--keep", help="write the audio here and keep it (default: a temp dir)")
    args = parser.parse_args()

    clips = source_clips([("so", args.so), ("ar", args.ar), ("ls", args.ls)])
    with tempfile.TemporaryDirectory(prefix="vad-measure-") as temp:
        folder = args.keep or temp
        files = write_conditions(clips, folder)
        programs = [("new", args.spkid)] + ([("old", args.old)] if args.old else [])
        extra = {"new": args.new_args.split(), "old": []}
        seconds = {(label, c): speech_seconds(p, files[c], extra[label])
                   for label, p in programs for c in CONDITIONS}
        compare = {}
        for label, program in [("new", args.compare), ("old", args.compare_old)]:
            if program:
                compare[label] = {c: masks(program, files[c]) for c in CONDITIONS}
        # file paths differ per condition; key the masks by clip name
        for label in compare:
            for c in CONDITIONS:
                compare[label][c] = {os.path.basename(f): r for f, r in compare[label][c].items()}

    print(f"{len(clips)} clips of {CLIP_SECONDS:g} s ({args.so} so-, {args.ar} ar-, {args.ls} ls-)")
    print(f"\n`spkid info`: speech seconds per clip (mean), share of clips under {REFUSED_BELOW} s")
    rows = [["condition"] + [f"{label} {what}" for label, _ in programs
                             for what in ("speech s", "refused")]]
    for c in CONDITIONS:
        row = [c]
        for label, _ in programs:
            s = np.array(seconds[(label, c)])
            row += [f"{s.mean():.2f}", f"{np.mean(s < REFUSED_BELOW) * 100:.0f}%"]
        rows.append(row)
    print_table(rows)
    if compare:
        detectors = [(label, "energy") for label in ("old", "new") if label in compare]
        detectors += [(next(iter(compare)), "webrtc_" + name)
                      for name in ("very_low", "low", "moderate", "high")]
        print("\nvad_compare, 10 ms hops: speech s per clip / recall / false alarms, each against "
              "the same detector's clean frames\n(noise-only: the share of all hops called speech "
              "is the false alarm)")
        rows = [["condition"] + [f"energy-{label}" if key == "energy" else key
                                 for label, key in detectors]]
        for c in CONDITIONS:
            row = [c]
            for label, key in detectors:
                per_file = compare[label][c]
                hops = [np.sum(to_hops(r[key])) / 100 for r in per_file.values()]
                if c == "noise-only":
                    share = np.mean(np.concatenate([to_hops(r[key]) for r in per_file.values()]))
                    row.append(f"{np.mean(hops):.2f} /    - / {share * 100:3.0f}%")
                else:
                    recall, alarms = agreement(per_file, compare[label]["clean"], key)
                    row.append(f"{np.mean(hops):.2f} / {recall * 100:3.0f}% / {alarms * 100:3.0f}%")
            rows.append(row)
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
