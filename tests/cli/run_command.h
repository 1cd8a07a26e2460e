// Runs a program and captures its exit status, standard output and standard error, for
// end-to-end tests of the command line.
#ifndef FEDWALL_TESTS_CLI_RUN_COMMAND_H_
#define FEDWALL_TESTS_CLI_RUN_COMMAND_H_

#include <string>
#include <vector>

namespace fedwall::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the program did not exit normally
  std::string out;
  std::string err;
};

// Runs `argv[0]` with `argv` (no shell), with `stdin_data` on standard input.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

}  // namespace fedwall::testing

#endif  // FEDWALL_TESTS_CLI_RUN_COMMAND_H_
