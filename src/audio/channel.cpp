#include "spkid/channel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <mutex>
#include <new>

#include "features/fftw_planner.h"
#include "spkid/audio.h"
#include "spkid/error.h"

namespace spkid {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kMaxImpulseTaps = 16384;
constexpr int kConvolutionFft = 2 * kMaxImpulseTaps;  // blocks of kMaxImpulseTaps, overlap-add

struct FftwFree {
  void operator()(void* memory) const noexcept { fftwf_free(memory); }
};
template <typename T>
std::unique_ptr<T[], FftwFree> fftw_alloc(int count) {
  void* memory = fftwf_malloc(sizeof(T) * static_cast<std::size_t>(count));
  if (memory == nullptr) throw std::bad_alloc();
  return std::unique_ptr<T[], FftwFree>(static_cast<T*>(memory));
}

// One pair of plans for the fixed convolution size, made once; FFTW's execute functions are
// thread-safe on arrays aligned as fftwf_malloc aligns them.
struct ConvolutionPlans {
  fftwf_plan forward = nullptr;
  fftwf_plan inverse = nullptr;
};

const ConvolutionPlans& convolution_plans() {
  static ConvolutionPlans plans;
  static std::once_flag once;
  std::call_once(once, [] {
    auto time = fftw_alloc<float>(kConvolutionFft);
    auto freq = fftw_alloc<fftwf_complex>(kConvolutionFft / 2 + 1);
    std::lock_guard<std::mutex> lock(detail::fftw_planner_mutex());
    plans.forward = fftwf_plan_dft_r2c_1d(kConvolutionFft, time.get(), freq.get(), FFTW_ESTIMATE);
    plans.inverse = fftwf_plan_dft_c2r_1d(kConvolutionFft, freq.get(), time.get(), FFTW_ESTIMATE);
  });
  return plans;
}

double rms(const std::vector<float>& x) {
  double sum = 0;
  for (const float v : x) sum += double(v) * v;
  return x.empty() ? 0 : std::sqrt(sum / double(x.size()));
}

float mu_law(float x) {  // compress, 8-bit quantise, expand (G.711 mu = 255)
  constexpr float mu = 255;
  const float c = std::copysign(std::log1p(mu * std::min(std::fabs(x), 1.0f)) / std::log1p(mu), x);
  const float q = std::round(c * 127) / 127;
  return std::copysign((std::pow(1 + mu, std::fabs(q)) - 1) / mu, q);
}

float a_law(float x) {  // G.711 A = 87.6
  constexpr float a = 87.6f;
  const float ax = std::min(std::fabs(x), 1.0f);
  const float norm = 1 + std::log(a);
  const float c = ax < 1 / a ? a * ax / norm : (1 + std::log(a * ax)) / norm;
  const float q = std::round(c * 127) / 127;
  const float y = q < 1 / norm ? q * norm / a : std::exp(q * norm - 1) / a;
  return std::copysign(y, x);
}

// Second-order Butterworth high-pass, direct form I.
void high_pass(std::vector<float>& x, double cutoff_hz, int rate_hz) {
  const double w = 2 * kPi * cutoff_hz / rate_hz;
  const double alpha = std::sin(w) / std::sqrt(2.0);
  const double cosw = std::cos(w);
  const double a0 = 1 + alpha;
  const double b0 = (1 + cosw) / 2 / a0, b1 = -(1 + cosw) / a0, b2 = b0;
  const double a1 = -2 * cosw / a0, a2 = (1 - alpha) / a0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (auto& v : x) {
    const double y = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = v;
    y2 = y1;
    y1 = y;
    v = static_cast<float>(y);
  }
}

}  // namespace

std::vector<float> room_impulse_response(int sample_rate_hz, double rt60_seconds,
                                         std::mt19937_64& rng) {
  const long taps =
      std::clamp<long>(std::lround(rt60_seconds * sample_rate_hz), 2, kMaxImpulseTaps);
  std::vector<float> h(static_cast<size_t>(taps), 0.0f);
  std::normal_distribution<float> white(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  // The reverberant tail starts after the first reflections, 60 dB down at rt60.
  const double decay_per_sample = std::log(1000.0) / (rt60_seconds * sample_rate_hz);
  const long onset = std::lround((0.002 + 0.008 * unit(rng)) * sample_rate_hz);
  // Direct-to-reverberant ratio between about +6 dB (near the microphone) and -6 dB (across
  // the room): the tail's energy relative to the direct path's.
  const double drr_db = -6 + 12 * unit(rng);
  float lowpass = 0;
  double tail_energy = 0;
  for (long n = std::min(onset, taps - 1); n < taps; ++n) {
    const double t = double(n - onset);
    // Absorption darkens the tail: the one-pole smoothing rises from none to strong.
    const float smooth =
        static_cast<float>(0.8 * std::min(1.0, t / (0.5 * rt60_seconds * sample_rate_hz)));
    lowpass = smooth * lowpass + (1 - smooth) * white(rng);
    h[n] = static_cast<float>(lowpass * std::exp(-decay_per_sample * t));
    tail_energy += double(h[n]) * h[n];
  }
  const double tail_gain = std::sqrt(std::pow(10.0, -drr_db / 10) / std::max(tail_energy, 1e-12));
  for (auto& v : h) v = static_cast<float>(v * tail_gain);
  // A few early reflections (walls, table) within 50 ms, each weaker than the direct path.
  const int reflections = 3 + int(unit(rng) * 5);
  for (int r = 0; r < reflections; ++r) {
    const long at = std::lround((0.001 + 0.049 * unit(rng)) * sample_rate_hz);
    if (at < taps)
      h[at] += static_cast<float>((unit(rng) < 0.5 ? -1 : 1) * (0.2 + 0.5 * unit(rng)));
  }
  h[0] = 1.0f;
  return h;
}

std::vector<float> convolve(const std::vector<float>& signal,
                            const std::vector<float>& impulse_response) {
  if (impulse_response.empty() || impulse_response.size() > size_t(kMaxImpulseTaps)) {
    throw Error(ErrorCode::kInvalidArgument, "an impulse response needs 1 to 16384 taps");
  }
  const ConvolutionPlans& plans = convolution_plans();
  constexpr int bins = kConvolutionFft / 2 + 1;
  auto time = fftw_alloc<float>(kConvolutionFft);
  auto response = fftw_alloc<fftwf_complex>(bins);
  auto block = fftw_alloc<fftwf_complex>(bins);
  std::fill_n(time.get(), kConvolutionFft, 0.0f);
  std::copy(impulse_response.begin(), impulse_response.end(), time.get());
  fftwf_execute_dft_r2c(plans.forward, time.get(), response.get());

  const long size = static_cast<long>(signal.size());
  std::vector<float> out(signal.size(), 0.0f);
  const float scale = 1.0f / kConvolutionFft;
  for (long begin = 0; begin < size; begin += kMaxImpulseTaps) {
    const long n = std::min<long>(kMaxImpulseTaps, size - begin);
    std::fill_n(time.get(), kConvolutionFft, 0.0f);
    std::copy_n(signal.data() + begin, n, time.get());
    fftwf_execute_dft_r2c(plans.forward, time.get(), block.get());
    for (int k = 0; k < bins; ++k) {
      const std::complex<float> a(block[k][0], block[k][1]), b(response[k][0], response[k][1]);
      const auto c = a * b;
      block[k][0] = c.real();
      block[k][1] = c.imag();
    }
    fftwf_execute_dft_c2r(plans.inverse, block.get(), time.get());
    const long keep = std::min<long>(kConvolutionFft, size - begin);
    for (long i = 0; i < keep; ++i) out[size_t(begin + i)] += time[i] * scale;
  }
  return out;
}

std::vector<float> telephone_channel(const std::vector<float>& signal, int sample_rate_hz,
                                     TelephoneCodec codec) {
  constexpr int kTelephoneHz = 8000;
  auto line = resample(signal, sample_rate_hz, kTelephoneHz);
  high_pass(line, 300, kTelephoneHz);
  // Companding is level-dependent: bring the speech to about -20 dBFS RMS, as a call's would be.
  const double level = rms(line);
  if (level > 0) {
    const auto gain = static_cast<float>(0.1 / level);
    for (auto& v : line)
      v = (codec == TelephoneCodec::kMuLaw ? mu_law(v * gain) : a_law(v * gain)) / gain;
  }
  auto out = resample(line, kTelephoneHz, sample_rate_hz);
  out.resize(signal.size(), 0.0f);
  return out;
}

std::vector<float> time_stretch(const std::vector<float>& signal, double factor) {
  const long in_size = static_cast<long>(signal.size());
  const long out_size = std::lround(double(in_size) * factor);
  std::vector<float> out(static_cast<size_t>(std::max<long>(out_size, 0)), 0.0f);
  constexpr int kWindow = 512;  // 32 ms at 16 kHz: longer than a pitch period of a low voice
  constexpr int kHop = kWindow / 2;
  constexpr int kTolerance = 128;  // how far the next segment may move to continue the waveform
  if (in_size < kWindow + 2 * kTolerance || out_size < kWindow) {
    // Too short to stretch by segments: plain interpolation keeps the length right.
    for (long i = 0; i < out_size; ++i) {
      const double at = std::min(double(in_size - 1), double(i) / factor);
      const long i0 = long(at);
      const long i1 = std::min(i0 + 1, in_size - 1);
      out[size_t(i)] =
          static_cast<float>(signal[i0] + (at - double(i0)) * (signal[i1] - signal[i0]));
    }
    return out;
  }
  std::vector<float> window(kWindow);
  for (int i = 0; i < kWindow; ++i) window[i] = float(0.5 - 0.5 * std::cos(2 * kPi * i / kWindow));
  const auto sample = [&](long i) { return i >= 0 && i < in_size ? signal[size_t(i)] : 0.0f; };
  long previous = 0;  // where the last segment was taken from
  for (long frame = 0; frame * kHop < out_size; ++frame) {
    const long ideal = std::lround(double(frame * kHop) / factor);
    long best = ideal;
    if (frame > 0) {
      // The segment that best continues the last one: its natural continuation is
      // previous + kHop; correlate over the half that overlaps.
      const long natural = previous + kHop;
      double best_score = -1e30;
      for (long offset = -kTolerance; offset <= kTolerance; offset += 2) {
        const long candidate = ideal + offset;
        if (candidate < 0 || candidate + kWindow > in_size) continue;
        double score = 0;
        for (int i = 0; i < kHop; i += 2)
          score += double(sample(natural + i)) * signal[size_t(candidate + i)];
        if (score > best_score) {
          best_score = score;
          best = candidate;
        }
      }
    }
    best = std::clamp<long>(best, 0, in_size - kWindow);
    for (int i = 0; i < kWindow; ++i) {
      const long o = frame * kHop + i;
      if (o >= out_size) break;
      out[size_t(o)] += window[i] * signal[size_t(best + i)];
    }
    previous = best;
  }
  return out;
}

std::vector<float> shift_pitch(const std::vector<float>& signal, int sample_rate_hz, double cents) {
  const double factor = std::pow(2.0, cents / 1200);
  // Longer by the factor at the same pitch, then played faster by it: the original length at a
  // pitch `factor` higher.
  const auto stretched = time_stretch(signal, factor);
  const int source_rate_hz = static_cast<int>(std::lround(sample_rate_hz * factor));
  auto out = resample(stretched, source_rate_hz, sample_rate_hz);
  out.resize(signal.size(), 0.0f);
  return out;
}

}  // namespace spkid
