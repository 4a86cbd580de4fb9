// The tiny_model CTest fixture: pretrains the tests' tiny base model once per test run.
#include <exception>
#include <iostream>

#include "tiny_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_tiny_model OUTPUT.pt\n";
    return 2;
  }
  try {
    spkid::test::write_tiny_base_model(argv[1]);
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "make_tiny_model: " << error.what() << "\n";
    return 1;
  }
}
