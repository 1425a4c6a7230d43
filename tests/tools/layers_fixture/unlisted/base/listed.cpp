// Fixture: a source file its CMakeLists.txt names.
