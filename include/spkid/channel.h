// Rooms, telephone lines and voices, simulated for training-time augmentation and test sets: what
// happens to speech between a mouth and spkid's input. Plain sample arithmetic (FFTW for long
// convolutions), no LibTorch.
#pragma once

#include <random>
#include <vector>

namespace spkid {

// A synthetic room impulse response: the direct path (1.0 at sample 0), a few early reflections
// in the first 50 ms, then an exponentially decaying noise tail that falls 60 dB in `rt60_seconds`
// (cut there, at most 1 s), darker as it decays (air and wall absorption).
std::vector<float> room_impulse_response(int sample_rate_hz, double rt60_seconds,
                                         std::mt19937_64& rng);

// `signal` convolved with `impulse_response` (at most 16384 taps), the first signal.size()
// samples: a room response starting with its direct path keeps the speech where it was.
// Thread-safe.
std::vector<float> convolve(const std::vector<float>& signal,
                            const std::vector<float>& impulse_response);

enum class TelephoneCodec { kMuLaw, kALaw };

// A narrowband telephone call: down to 8 kHz (whose anti-aliasing cuts at 4 kHz), a 300 Hz
// high-pass, G.711 8-bit companding at a level near a telephone's, and back to `sample_rate_hz`.
std::vector<float> telephone_channel(const std::vector<float>& signal, int sample_rate_hz,
                                     TelephoneCodec codec);

// The same speech with its pitch (and formants) moved by `cents` at the same duration: WSOLA
// time-stretching by the pitch factor, then resampling back to the original length.
std::vector<float> shift_pitch(const std::vector<float>& signal, int sample_rate_hz, double cents);

// WSOLA (waveform-similarity overlap-add): `signal` made `factor` times longer (or shorter)
// without changing its pitch; output length round(size * factor).
std::vector<float> time_stretch(const std::vector<float>& signal, double factor);

}  // namespace spkid
