// File: table.h
// How the listing commands print: aligned columns under an upper-case header, CSV, or JSON.
#pragma once

#include <string>
#include <vector>

namespace pier::app {

struct TableFormat {
  bool csv = false;
  bool json = false;
};

std::string Join(const std::vector<std::string>& v, const char* sep);
// Prints rows under a header: aligned columns, CSV, or a JSON array of objects.
void PrintTable(TableFormat f, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace pier::app
