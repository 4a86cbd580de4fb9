// A speech corpus on disk, as training reads it: one folder of audio files per speaker, and a
// folder of background-noise recordings.
#pragma once

#include <string>
#include <vector>

#include "spkid/audio.h"
#include "spkid/vad.h"

namespace spkid {

// One speaker's speech with the silences removed, at the features' sample rate.
struct SpeakerSpeech {
  std::string name;
  std::vector<float> speech;
};

// The sub-folders of `corpus_dir`, sorted by name. Throws Error(kNotFound) when there are none.
std::vector<std::string> list_speaker_folders(const std::string& corpus_dir);

// Decodes every file of each folder in name order, keeps the speech (VAD) and concatenates it:
// one SpeakerSpeech per folder, named after it. Files are spread over `threads` workers. A file
// that is not audio or holds no speech is skipped and described in `skipped` (when given); a
// folder left with no speech throws Error(kNoSpeech).
std::vector<SpeakerSpeech> load_speaker_folders(const std::vector<std::string>& folders,
                                                const AudioOptions& audio, const VadOptions& vad,
                                                int threads,
                                                std::vector<std::string>* skipped = nullptr);

// Every audio file of a folder (name order), whole, for mixing in as background noise.
std::vector<std::vector<float>> load_noise_folder(const std::string& dir,
                                                  const AudioOptions& audio);

}  // namespace spkid
