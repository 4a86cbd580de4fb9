// Spectrogram features, the CNN's image: framing, window, real FFT (FFTW), power spectrum,
// Mel filterbank, log, optional MFCC, per-utterance normalisation.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace spkid {

enum class WindowType { kHann, kPovey, kHamming };
const char* window_type_name(WindowType window) noexcept;
WindowType parse_window_type(const std::string& name);  // "hann", "povey", "hamming"

// One declaration of every front-end parameter; recorded into any model made from it.
// The defaults follow Kaldi's fbank (snip_edges, pre-emphasis 0.97, DC removal, power spectrum,
// FFT size rounded up to a power of two, Mel scale 1127 ln(1 + f/700)).
struct FeatureOptions {
  int sample_rate_hz = 16000;
  double frame_length_ms = 25;
  double frame_shift_ms = 10;
  WindowType window = WindowType::kHann;
  double preemphasis = 0.97;
  bool remove_dc_offset = true;
  int num_mel_bins = 64;
  double f_min_hz = 20;
  double f_max_hz = 0;                        // <= 0 means Nyquist + f_max_hz (Kaldi's convention)
  double log_floor = 1.1920928955078125e-07;  // float epsilon, as Kaldi
  bool mfcc = false;           // orthonormal DCT-II of the log-Mel energies, c0 kept (not energy)
  int num_ceps = 20;           // cepstra c0 .. c(num_ceps - 1) when mfcc; at most num_mel_bins
  bool normalize_mean = true;  // per-utterance mean normalisation
  bool normalize_variance = false;  // and variance (needs normalize_mean)

  int frame_length_samples() const;
  int frame_shift_samples() const;
  int fft_size() const;  // frame length rounded up to a power of two
  int num_features() const { return mfcc ? num_ceps : num_mel_bins; }

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
  std::string to_json() const;
  static FeatureOptions from_json(const std::string& json);  // throws Error(kInvalidArgument)
  bool operator==(const FeatureOptions& other) const;
  bool operator!=(const FeatureOptions& other) const { return !(*this == other); }
};

// Row-major frames x features.
struct FeatureMatrix {
  int num_frames = 0;
  int num_features = 0;
  std::vector<float> data;
  const float* frame(int i) const { return data.data() + static_cast<long>(i) * num_features; }
  float* frame(int i) { return data.data() + static_cast<long>(i) * num_features; }
};

// Number of frames for `num_samples` samples (0 when shorter than one frame).
int num_frames_for(long num_samples, const FeatureOptions& options);

// Holds the FFT plan, window and filterbank, made once. compute() is const and safe to call
// from several threads at once.
class FeatureExtractor {
 public:
  explicit FeatureExtractor(const FeatureOptions& options = {});
  ~FeatureExtractor();
  FeatureExtractor(FeatureExtractor&&) noexcept;
  FeatureExtractor& operator=(FeatureExtractor&&) noexcept;

  const FeatureOptions& options() const;

  // Log-Mel (or MFCC) features, normalised as the options say; num_frames_for(num_samples)
  // frames. `samples` are at options().sample_rate_hz. Throws Error(kInvalidArgument) for a
  // sample that is NaN, infinite or beyond kMaxSampleMagnitude (audio.h).
  FeatureMatrix compute(const float* samples, long num_samples) const;
  FeatureMatrix compute(const std::vector<float>& samples) const {
    return compute(samples.data(), static_cast<long>(samples.size()));
  }

  // |STFT| magnitude, frames x (fft_size/2 + 1), for pictures: the same framing, DC removal,
  // pre-emphasis and window as compute().
  FeatureMatrix magnitude_spectrogram(const float* samples, long num_samples) const;

  // Centre frequency in Hz of each Mel band.
  std::vector<double> mel_center_frequencies_hz() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Subtracts each feature's mean over frames (and divides by its standard deviation; a constant
// feature becomes 0).
void normalize_utterance(FeatureMatrix& features, bool variance);

}  // namespace spkid
