// FeatureExtractor: Kaldi-compatible framing, window, FFTW real FFT, sparse Mel filterbank, log,
// optional DCT-II, per-utterance normalisation.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "features/fftw_planner.h"
#include "spkid/audio.h"
#include "spkid/error.h"
#include "spkid/features.h"

namespace spkid {

std::mutex& detail::fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

using detail::fftw_planner_mutex;

struct FftwFree {
  void operator()(void* memory) const noexcept { fftwf_free(memory); }
};
template <typename T>
using FftwBuffer = std::unique_ptr<T[], FftwFree>;

// SIMD-aligned as FFTW wants: a plan executes only on arrays aligned like those it was made for.
template <typename T>
FftwBuffer<T> fftw_alloc(int count) {
  void* memory = fftwf_malloc(sizeof(T) * static_cast<std::size_t>(count));
  if (memory == nullptr) throw std::bad_alloc();
  return FftwBuffer<T>(static_cast<T*>(memory));
}

double mel_from_hz(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }
double hz_from_mel(double mel) { return 700.0 * (std::exp(mel / 1127.0) - 1.0); }

// Kaldi's windows; its "hanning" is the symmetric Hann window 0.5 - 0.5 cos(2 pi n / (N - 1)).
std::vector<float> make_window(WindowType type, int length) {
  std::vector<float> window(static_cast<std::size_t>(length));
  const double a = 2 * kPi / (length - 1);
  for (int n = 0; n < length; ++n) {
    const double hann = 0.5 - 0.5 * std::cos(a * n);
    double value = hann;
    if (type == WindowType::kPovey) value = std::pow(hann, 0.85);
    if (type == WindowType::kHamming) value = 0.54 - 0.46 * std::cos(a * n);
    window[static_cast<std::size_t>(n)] = static_cast<float>(value);
  }
  return window;
}

// Sum of `count` floats with independent partial sums, so the loop is not one long dependency
// chain (and the compiler may vectorise it without -ffast-math).
float sum(const float* x, int count) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    for (int lane = 0; lane < kLanes; ++lane) partial[lane] += x[i + lane];
  }
  float total = 0;
  for (; i < count; ++i) total += x[i];
  for (float p : partial) total += p;
  return total;
}

}  // namespace

int num_frames_for(long num_samples, const FeatureOptions& options) {
  const long length = options.frame_length_samples();
  if (num_samples < length) return 0;
  return static_cast<int>(1 + (num_samples - length) / options.frame_shift_samples());
}

void normalize_utterance(FeatureMatrix& features, bool variance) {
  const int rows = features.num_frames;
  const int cols = features.num_features;
  if (rows == 0) return;
  // Double sums: a long utterance has ~1e5 frames and float sums would lose digits.
  std::vector<double> mean(static_cast<std::size_t>(cols), 0.0);
  for (int t = 0; t < rows; ++t) {
    const float* row = features.frame(t);
    for (int j = 0; j < cols; ++j) mean[j] += row[j];
  }
  for (double& m : mean) m /= rows;
  std::vector<float> shift(mean.begin(), mean.end());
  std::vector<float> scale(static_cast<std::size_t>(cols), 1.0f);
  if (variance) {
    std::vector<double> sum_squares(static_cast<std::size_t>(cols), 0.0);
    for (int t = 0; t < rows; ++t) {
      const float* row = features.frame(t);
      for (int j = 0; j < cols; ++j) {
        const double d = row[j] - mean[j];
        sum_squares[j] += d * d;
      }
    }
    for (int j = 0; j < cols; ++j) {
      const double stddev = std::sqrt(sum_squares[j] / rows);
      // A constant feature (e.g. a band of digital silence) stays 0 instead of becoming NaN.
      scale[j] = stddev > 1e-10 ? static_cast<float>(1.0 / stddev) : 1.0f;
    }
  }
  for (int t = 0; t < rows; ++t) {
    float* row = features.frame(t);
    for (int j = 0; j < cols; ++j) row[j] = (row[j] - shift[j]) * scale[j];
  }
}

struct FeatureExtractor::Impl {
  // One Mel band as a sparse row: weights for FFT bins first_bin .. first_bin + num_bins - 1.
  struct MelBand {
    int first_bin;
    int num_bins;
    int weight_offset;  // into mel_weights
  };

  // Per-call buffers, so compute() is const and threads never share memory.
  struct Workspace {
    explicit Workspace(const Impl& impl)
        : frame(fftw_alloc<float>(impl.fft_size)),
          spectrum(fftw_alloc<fftwf_complex>(impl.num_fft_bins)),
          power(static_cast<std::size_t>(impl.num_fft_bins)) {
      // Zero padding written once: the r2c plan preserves its input.
      std::fill(frame.get() + impl.frame_length, frame.get() + impl.fft_size, 0.0f);
    }
    FftwBuffer<float> frame;
    FftwBuffer<fftwf_complex> spectrum;
    std::vector<float> power;
  };

  explicit Impl(const FeatureOptions& opts)
      : options(opts),
        frame_length(opts.frame_length_samples()),
        frame_shift(opts.frame_shift_samples()),
        fft_size(opts.fft_size()),
        num_fft_bins(opts.fft_size() / 2 + 1),
        window(make_window(opts.window, frame_length)) {
    make_mel_filterbank();
    if (options.mfcc) make_dct();
    FftwBuffer<float> in = fftw_alloc<float>(fft_size);
    FftwBuffer<fftwf_complex> out = fftw_alloc<fftwf_complex>(num_fft_bins);
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    // FFTW_ESTIMATE: the same plan, hence bit-identical features, in every process, and no
    // ~70 ms of FFTW_MEASURE timing at start-up (it would gain only ~10% per frame).
    plan =
        fftwf_plan_dft_r2c_1d(fft_size, in.get(), out.get(), FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
    if (plan == nullptr) {
      throw Error(ErrorCode::kInternal, "FFTW could not plan a real FFT of size " +
                                            std::to_string(fft_size) +
                                            ": please report this with the feature options");
    }
  }

  ~Impl() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fftwf_destroy_plan(plan);
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Kaldi's MelBanks: triangles equally spaced in mel between f_min and f_max, over FFT bins
  // 0 .. N/2 - 1 (the Nyquist bin gets no weight).
  void make_mel_filterbank() {
    const double nyquist_hz = 0.5 * options.sample_rate_hz;
    const double f_max_hz =
        options.f_max_hz <= 0 ? nyquist_hz + options.f_max_hz : options.f_max_hz;
    const double mel_low = mel_from_hz(options.f_min_hz);
    const double mel_high = mel_from_hz(f_max_hz);
    const double mel_delta = (mel_high - mel_low) / (options.num_mel_bins + 1);
    const double bin_width_hz = static_cast<double>(options.sample_rate_hz) / fft_size;
    std::vector<double> bin_mel(static_cast<std::size_t>(fft_size / 2));
    for (int k = 0; k < fft_size / 2; ++k) bin_mel[k] = mel_from_hz(bin_width_hz * k);
    for (int b = 0; b < options.num_mel_bins; ++b) {
      const double left = mel_low + b * mel_delta;
      const double center = left + mel_delta;
      const double right = center + mel_delta;
      center_hz.push_back(hz_from_mel(center));
      int first_bin = -1;
      std::vector<float> row;
      for (int k = 0; k < fft_size / 2; ++k) {
        const double mel = bin_mel[k];
        if (mel <= left || mel >= right) continue;
        // The bins inside a triangle are contiguous, so the row is dense from first_bin on.
        if (first_bin < 0) first_bin = k;
        row.push_back(static_cast<float>(mel <= center ? (mel - left) / (center - left)
                                                       : (right - mel) / (right - center)));
      }
      if (first_bin < 0) {
        throw Error(ErrorCode::kInvalidArgument,
                    "feature option num_mel_bins=" + std::to_string(options.num_mel_bins) +
                        " leaves Mel band " + std::to_string(b) + " without any FFT bin at " +
                        std::to_string(options.sample_rate_hz) +
                        " Hz: use fewer bands, a wider f_min_hz..f_max_hz or longer frames");
      }
      const MelBand band{first_bin, static_cast<int>(row.size()),
                         static_cast<int>(mel_weights.size())};
      mel_weights.insert(mel_weights.end(), row.begin(), row.end());
      mel_bands.push_back(band);
    }
  }

  // Orthonormal DCT-II, c0 kept: c_k = s_k sum_n x_n cos(pi k (n + 1/2) / N).
  void make_dct() {
    const int n_bands = options.num_mel_bins;
    const int n_ceps = options.num_ceps;
    dct.resize(static_cast<std::size_t>(n_ceps) * n_bands);
    for (int n = 0; n < n_bands; ++n) {
      for (int k = 0; k < n_ceps; ++k) {
        const double scale = std::sqrt((k == 0 ? 1.0 : 2.0) / n_bands);
        dct[static_cast<std::size_t>(n) * n_ceps + k] =
            static_cast<float>(scale * std::cos(kPi * k * (n + 0.5) / n_bands));
      }
    }
  }

  // DC removal, pre-emphasis (first sample against itself, as Kaldi) and window, in one pass.
  void prepare_frame(const float* x, float* out) const {
    const float dc =
        options.remove_dc_offset ? sum(x, frame_length) / static_cast<float>(frame_length) : 0.0f;
    const float p = static_cast<float>(options.preemphasis);
    const float* w = window.data();
    out[0] = w[0] * (x[0] - dc) * (1 - p);
    for (int j = 1; j < frame_length; ++j) out[j] = w[j] * ((x[j] - dc) - p * (x[j - 1] - dc));
  }

  // Power spectrum |X_k|^2, k = 0 .. N/2, of the frame starting at `x`, into ws.power.
  void power_spectrum(const float* x, Workspace& ws) const {
    prepare_frame(x, ws.frame.get());
    fftwf_execute_dft_r2c(plan, ws.frame.get(), ws.spectrum.get());
    const fftwf_complex* s = ws.spectrum.get();
    float* power = ws.power.data();
    for (int k = 0; k < num_fft_bins; ++k) power[k] = s[k][0] * s[k][0] + s[k][1] * s[k][1];
  }

  void log_mel(const float* power, float* out) const {
    const float floor = static_cast<float>(options.log_floor);
    const float* weights = mel_weights.data();
    for (const MelBand& band : mel_bands) {
      const float* w = weights + band.weight_offset;
      const float* p = power + band.first_bin;
      float energy = 0;
      for (int i = 0; i < band.num_bins; ++i) energy += w[i] * p[i];
      *out++ = std::log(std::max(energy, floor));
    }
  }

  // Accumulates band by band over all cepstra: independent sums the compiler can vectorise.
  void apply_dct(const float* log_mel_energies, float* out) const {
    const int n_ceps = options.num_ceps;
    std::fill(out, out + n_ceps, 0.0f);
    for (int n = 0; n < options.num_mel_bins; ++n) {
      const float* column = dct.data() + static_cast<std::size_t>(n) * n_ceps;
      const float x = log_mel_energies[n];
      for (int k = 0; k < n_ceps; ++k) out[k] += column[k] * x;
    }
  }

  FeatureOptions options;
  int frame_length;
  int frame_shift;
  int fft_size;
  int num_fft_bins;  // N/2 + 1
  std::vector<float> window;
  std::vector<MelBand> mel_bands;
  std::vector<float> mel_weights;
  std::vector<double> center_hz;
  std::vector<float> dct;  // num_mel_bins x num_ceps, row-major
  fftwf_plan plan = nullptr;
};

namespace {

void check_input(const float* samples, long num_samples) {
  if (num_samples < 0 || (samples == nullptr && num_samples > 0)) {
    throw Error(ErrorCode::kInvalidArgument,
                "feature input has " + std::to_string(num_samples) +
                    " samples at a null or invalid address: pass the decoded audio samples");
  }
  // The spectrum is computed in float: a sample near 1e19 makes its power infinite, and the
  // utterance normalisation spreads that over every frame.
  const float* bad = std::find_if_not(samples, samples + num_samples, is_usable_sample);
  if (bad != samples + num_samples) {
    throw Error(ErrorCode::kInvalidArgument,
                "feature input sample " + std::to_string(bad - samples) +
                    " is NaN, infinite or beyond a million times full scale: pass samples "
                    "load_audio() accepts");
  }
}

}  // namespace

FeatureExtractor::FeatureExtractor(const FeatureOptions& options) {
  options.validate();
  impl_ = std::make_unique<Impl>(options);
}

FeatureExtractor::~FeatureExtractor() = default;
FeatureExtractor::FeatureExtractor(FeatureExtractor&&) noexcept = default;
FeatureExtractor& FeatureExtractor::operator=(FeatureExtractor&&) noexcept = default;

const FeatureOptions& FeatureExtractor::options() const { return impl_->options; }

FeatureMatrix FeatureExtractor::compute(const float* samples, long num_samples) const {
  check_input(samples, num_samples);
  const Impl& impl = *impl_;
  const FeatureOptions& options = impl.options;
  FeatureMatrix features;
  features.num_frames = num_frames_for(num_samples, options);
  features.num_features = options.num_features();
  features.data.resize(static_cast<std::size_t>(features.num_frames) * features.num_features);
  if (features.num_frames == 0) return features;

  Impl::Workspace workspace(impl);
  std::vector<float> log_mel_energies(options.mfcc ? options.num_mel_bins : 0);
  for (int t = 0; t < features.num_frames; ++t) {
    impl.power_spectrum(samples + static_cast<long>(t) * impl.frame_shift, workspace);
    if (options.mfcc) {
      impl.log_mel(workspace.power.data(), log_mel_energies.data());
      impl.apply_dct(log_mel_energies.data(), features.frame(t));
    } else {
      impl.log_mel(workspace.power.data(), features.frame(t));
    }
  }
  if (options.normalize_mean) normalize_utterance(features, options.normalize_variance);
  return features;
}

FeatureMatrix FeatureExtractor::magnitude_spectrogram(const float* samples,
                                                      long num_samples) const {
  check_input(samples, num_samples);
  const Impl& impl = *impl_;
  FeatureMatrix magnitudes;
  magnitudes.num_frames = num_frames_for(num_samples, impl.options);
  magnitudes.num_features = impl.num_fft_bins;
  magnitudes.data.resize(static_cast<std::size_t>(magnitudes.num_frames) * impl.num_fft_bins);
  if (magnitudes.num_frames == 0) return magnitudes;

  Impl::Workspace workspace(impl);
  for (int t = 0; t < magnitudes.num_frames; ++t) {
    impl.power_spectrum(samples + static_cast<long>(t) * impl.frame_shift, workspace);
    std::transform(workspace.power.begin(), workspace.power.end(), magnitudes.frame(t),
                   [](float power) { return std::sqrt(power); });
  }
  return magnitudes;
}

std::vector<double> FeatureExtractor::mel_center_frequencies_hz() const { return impl_->center_hz; }

}  // namespace spkid
