#include "spkid/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <system_error>

#include "spkid/error.h"
#include "spkid/speaker_name.h"

namespace spkid {
namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

[[noreturn]] void folder_error(const fs::path& dir, const std::error_code& error) {
  throw Error(ErrorCode::kIo, "cannot read the folder " + dir.string() + ": " + error.message() +
                                  "; check its permissions");
}

// A file or folder as the system knows it, whatever path or link leads there.
struct FileIdentity {
  dev_t device;
  ino_t inode;
  bool operator<(const FileIdentity& other) const {
    return device != other.device ? device < other.device : inode < other.inode;
  }
};

std::optional<FileIdentity> identity_of(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;  // a dangling link
  return FileIdentity{status.st_dev, status.st_ino};
}

// Adds the audio files under `dir` to `files`, following links to folders but entering each
// folder (and taking each file) once, however many links lead to it: a link back up the tree
// ends there instead of repeating the folder until the path is too long.
void collect_audio_files(const fs::path& dir, std::set<FileIdentity>& seen,
                         std::vector<std::string>& files) {
  std::error_code error;
  std::vector<fs::directory_entry> entries;
  fs::directory_iterator it(dir, error);
  if (error) folder_error(dir, error);
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) folder_error(dir, error);
    if (!is_hidden(it->path())) entries.push_back(*it);
  }
  if (error) folder_error(dir, error);
  // In name order, so which of two links to one file is taken does not depend on the folder.
  std::sort(entries.begin(), entries.end());
  for (const fs::directory_entry& entry : entries) {
    const bool is_folder = entry.is_directory(error);  // follows links
    const bool is_audio =
        !is_folder && entry.is_regular_file(error) && is_audio_file_name(entry.path().string());
    if (!is_folder && !is_audio) continue;
    const std::optional<FileIdentity> identity = identity_of(entry.path());
    if (!identity || !seen.insert(*identity).second) continue;
    if (is_folder) {
      collect_audio_files(entry.path(), seen, files);
    } else {
      files.push_back(entry.path().string());
    }
  }
}

// The audio files under `speaker_dir` at any depth, in name order.
std::vector<std::string> audio_files_under(const fs::path& speaker_dir) {
  std::set<FileIdentity> seen;
  if (const auto identity = identity_of(speaker_dir)) seen.insert(*identity);
  std::vector<std::string> files;
  collect_audio_files(speaker_dir, seen, files);
  std::sort(files.begin(), files.end());
  return files;
}

std::string trim(const std::string& text) {
  const auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  const auto begin = std::find_if_not(text.begin(), text.end(), is_space);
  const auto end = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

std::vector<LabelledRecording> parse_list(std::istream& in, const std::string& list_name,
                                          const fs::path& base_dir) {
  std::vector<LabelledRecording> recordings;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    line = trim(line);  // also drops the '\r' of files written on Windows
    if (line.empty() || line[0] == '#') continue;
    const std::string origin = list_name + ":" + std::to_string(line_number);
    const std::size_t name_end = line.find_first_of(" \t");
    const std::string path =
        name_end == std::string::npos ? std::string() : trim(line.substr(name_end));
    if (path.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  origin + ": '" + line +
                      "' has no path: write one recording a line as `name path/to/audio`");
    }
    const fs::path resolved =
        fs::path(path).is_absolute() || path == "-" ? fs::path(path) : base_dir / path;
    recordings.push_back({canonical_speaker_name(line.substr(0, name_end)),
                          resolved.lexically_normal().string(), origin, nullptr});
  }
  if (in.bad()) {
    throw Error(ErrorCode::kIo, "cannot read the list " + list_name + "; check the file");
  }
  return recordings;
}

}  // namespace

bool is_audio_file_name(const std::string& path) {
  static const char* const kExtensions[] = {"wav", "wave", "bwf",  "flac", "ogg", "oga", "opus",
                                            "mp3", "aif",  "aiff", "aifc", "au",  "snd", "caf",
                                            "w64", "rf64", "sph",  "nist", "voc"};
  std::string extension = fs::path(path).extension().string();
  if (extension.size() < 2) return false;
  extension.erase(0, 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(std::begin(kExtensions), std::end(kExtensions), extension) !=
         std::end(kExtensions);
}

std::vector<LabelledRecording> list_dataset_folder(const std::string& dataset_dir) {
  std::error_code error;
  if (!fs::is_directory(dataset_dir, error)) {
    throw Error(ErrorCode::kNotFound, "no dataset folder " + dataset_dir +
                                          ": --dir expects a folder with one sub-folder of "
                                          "recordings per speaker");
  }
  std::vector<fs::path> speaker_dirs;
  bool audio_at_top = false;
  fs::directory_iterator it(dataset_dir, error);
  if (error) folder_error(dataset_dir, error);
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) folder_error(dataset_dir, error);
    if (is_hidden(it->path())) continue;
    if (it->is_directory(error)) {
      speaker_dirs.push_back(it->path());
    } else if (is_audio_file_name(it->path().string())) {
      audio_at_top = true;
    }
  }
  if (error) folder_error(dataset_dir, error);
  std::sort(speaker_dirs.begin(), speaker_dirs.end());

  std::vector<LabelledRecording> recordings;
  for (const fs::path& speaker_dir : speaker_dirs) {
    for (std::string& file : audio_files_under(speaker_dir)) {
      recordings.push_back({canonical_speaker_name(speaker_dir.filename().string()),
                            std::move(file), speaker_dir.string(), nullptr});
    }
  }
  if (recordings.empty()) {
    throw Error(
        ErrorCode::kNotFound,
        "no audio files in sub-folders of " + dataset_dir +
            ": --dir expects one sub-folder of recordings per speaker, named after them" +
            (audio_at_top ? "; for the files of one speaker give them with --name NAME" : ""));
  }
  return recordings;
}

std::vector<LabelledRecording> read_labelled_list(const std::string& list_path) {
  if (list_path == "-") return parse_list(std::cin, "<stdin>", fs::path());
  std::error_code error;
  if (!fs::exists(list_path, error)) {
    throw Error(ErrorCode::kNotFound,
                "no list file " + list_path + ": give a file of `name path` lines");
  }
  std::ifstream in(list_path);
  if (!in) {
    throw Error(ErrorCode::kIo, "cannot open the list " + list_path + "; check its permissions");
  }
  return parse_list(in, list_path, fs::path(list_path).parent_path());
}

}  // namespace spkid
