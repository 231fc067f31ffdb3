// File modes of what the edge keeps under edge.data_dir (docs/hardening.md, "Files"): the
// directory is created 0700, and the SQLite databases (rampart.db: the API's apps and rules;
// analytics.db: traffic history) with their -wal and -shm files are 0600, whatever the umask.
// Stateless; called by serve's thread at start.
#pragma once

#include <string>

namespace rampart::control {

// Creates `dir` (and its parents) when missing, the last one 0700. An existing directory is left
// as it is (an operator may share it on purpose), with a warning when group or others may write
// in it (they could replace the databases). False with *error when it cannot be created.
bool prepare_data_dir(const std::string& dir, std::string* error);

// Before SQLite opens `path`: creates the file 0600 when missing, and sets 0600 on it and on its
// -wal/-shm files when they exist (SQLite gives new -wal/-shm files the database's mode). False
// with *error naming the file when it cannot be created or changed.
bool make_db_private(const std::string& path, std::string* error);

}  // namespace rampart::control
