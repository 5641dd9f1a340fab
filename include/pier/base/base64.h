// File: base64.h
// Base64 (RFC 4648, with padding): etcd's JSON gateway and the queue's HTTP API carry bytes in it.
#pragma once

#include <string>
#include <string_view>

namespace pier {

std::string Base64Encode(std::string_view in);
// False on characters outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace pier
