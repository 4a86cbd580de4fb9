// Speaker folders and noise folders into memory: decoded once, speech kept, ready for cropping.
#include <algorithm>
#include <filesystem>
#include <mutex>

#include "spkid/error.h"
#include "spkid/parallel.h"
#include "spkid/speech_corpus.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;

// Visible regular files of a folder, by name.
std::vector<std::string> files_in(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorCode::kNotFound, "folder " + dir + " does not exist: give a folder of audio");
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.front() != '.') files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<std::string> list_speaker_folders(const std::string& corpus_dir) {
  std::error_code ec;
  if (!fs::is_directory(corpus_dir, ec)) {
    throw Error(ErrorCode::kNotFound, "corpus folder " + corpus_dir +
                                          " does not exist: give a folder with one sub-folder "
                                          "of audio per speaker");
  }
  std::vector<std::string> folders;
  for (const auto& entry : fs::directory_iterator(corpus_dir)) {
    if (entry.is_directory() && entry.path().filename().string().front() != '.') {
      folders.push_back(entry.path().string());
    }
  }
  if (folders.empty()) {
    throw Error(ErrorCode::kNotFound, "corpus folder " + corpus_dir +
                                          " has no speaker sub-folders: put each speaker's "
                                          "audio in a folder named after the speaker");
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

std::vector<SpeakerSpeech> load_speaker_folders(const std::vector<std::string>& folders,
                                                const AudioOptions& audio, const VadOptions& vad,
                                                int threads, std::vector<std::string>* skipped) {
  struct File {
    size_t speaker;
    std::string path;
    std::vector<float> speech;
  };
  std::vector<File> files;
  std::vector<SpeakerSpeech> speakers(folders.size());
  for (size_t s = 0; s < folders.size(); ++s) {
    speakers[s].name = fs::path(folders[s]).lexically_normal().filename().string();
    if (speakers[s].name.empty()) {  // "dir/" normalises to a trailing empty name
      speakers[s].name = fs::path(folders[s]).lexically_normal().parent_path().filename().string();
    }
    for (auto& path : files_in(folders[s])) files.push_back({s, std::move(path), {}});
  }

  std::mutex skipped_mutex;
  parallel_for(files.size(), threads, [&](size_t i) {
    File& file = files[i];
    try {
      const Audio decoded = load_audio(file.path, audio);
      file.speech =
          keep_speech(decoded.samples, detect_speech(decoded.samples, decoded.sample_rate_hz, vad));
      if (file.speech.empty()) throw Error(ErrorCode::kNoSpeech, "no speech found");
    } catch (const Error& e) {
      if (skipped) {
        std::lock_guard<std::mutex> lock(skipped_mutex);
        skipped->push_back(file.path + ": " + e.what());
      }
    }
  });
  if (skipped) std::sort(skipped->begin(), skipped->end());

  for (auto& file : files) {
    auto& speech = speakers[file.speaker].speech;
    speech.insert(speech.end(), file.speech.begin(), file.speech.end());
    file.speech = {};
  }
  for (size_t s = 0; s < folders.size(); ++s) {
    if (speakers[s].speech.empty()) {
      throw Error(ErrorCode::kNoSpeech, "no speech found in " + folders[s] +
                                            ": give each speaker folder audio files with speech");
    }
  }
  return speakers;
}

std::vector<std::vector<float>> load_noise_folder(const std::string& dir,
                                                  const AudioOptions& audio) {
  std::vector<std::vector<float>> noises;
  for (const auto& path : files_in(dir)) noises.push_back(load_audio(path, audio).samples);
  if (noises.empty()) {
    throw Error(ErrorCode::kNotFound,
                "noise folder " + dir + " has no audio files: give a folder of noise recordings");
  }
  return noises;
}

}  // namespace spkid
