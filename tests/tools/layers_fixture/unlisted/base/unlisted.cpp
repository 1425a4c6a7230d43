// Fixture: a source file no CMakeLists.txt names.
