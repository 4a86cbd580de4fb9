// Labelled batches of recordings, in the layouts speaker datasets already use: one folder per
// speaker, or Kaldi-style lists of `name path` lines. One reader for enroll, identify and eval.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace spkid {

struct Audio;

// A recording and the speaker it is labelled with.
struct LabelledRecording {
  std::string speaker;  // canonical_speaker_name() of the folder name or list label
  std::string path;     // with `audio`, only its name in messages and in the store's provenance
  std::string origin;   // where the label came from, for messages: "list.txt:12", "DIR/alice"
  // Samples already decoded (audio_from_samples()) instead of a file at `path`.
  std::shared_ptr<const Audio> audio;
};

// Whether a file name ends in an extension libsndfile decodes (.wav, .flac, .ogg, .opus, .mp3,
// .aiff...; any letter case): what a dataset folder's audio files are told apart by.
bool is_audio_file_name(const std::string& path);

// The audio files (is_audio_file_name) under every sub-folder of `dataset_dir`, at any depth,
// labelled with the sub-folder's name; speakers and files in name order, hidden files and
// folders skipped. Links to folders are followed, but a folder or file is taken once however
// many links lead to it (a link back up the tree is not a loop). Throws Error(kNotFound) when
// `dataset_dir` is missing or no sub-folder holds audio (the message says what --dir expects),
// Error(kIo) when a folder cannot be read.
std::vector<LabelledRecording> list_dataset_folder(const std::string& dataset_dir);

// A list file of `name path` lines (the name is the first word, the path the rest of the line,
// so paths may hold spaces; blank lines and lines starting with '#' are skipped). Relative paths
// are relative to the list file's folder, so a dataset and its lists move together; "-" reads
// the list from standard input, relative to the working folder. Throws Error(kInvalidArgument)
// naming the line for a line without a path, Error(kNotFound)/kIo for the list itself.
std::vector<LabelledRecording> read_labelled_list(const std::string& list_path);

}  // namespace spkid
