// Aligned text tables for standard output: every column padded to its widest cell.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace spkid::cli {

class Table {
 public:
  enum class Align { kLeft, kRight };  // text left, numbers right
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);
  // One cell per column.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // The header and the rows; nothing when there are no rows.
  void print(std::ostream& out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// `value` with `decimals` digits after the point, for table cells.
std::string fixed(double value, int decimals = 2);

}  // namespace spkid::cli
