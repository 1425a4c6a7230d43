// An object with a fused multiply-add in it, so the check_no_fma test can be seen to fail.
#include <cmath>

float FmaProbe(float a, float b, float c) { return std::fma(a, b, c); }
