// `fedwall corpus generate --count N --seed S [--spam-share F] [--creates-only]`.
#include <ostream>
#include <string>

#include "tools/commands.h"
#include "tools/corpus/corpus.h"
#include "tools/progress.h"

namespace fedwall::tools {

int RunCorpusGenerate(const CorpusGenerateOptions& options, std::ostream& out, std::ostream& err) {
  if (!(options.spam_share >= 0 && options.spam_share <= 1)) {
    err << "fedwall corpus generate: --spam-share must be between 0 and 1\n";
    return 2;
  }
  corpus::CorpusOptions corpus_options;
  corpus_options.seed = options.seed;
  corpus_options.spam_share = options.spam_share;
  corpus_options.creates_only = options.creates_only;
  corpus::CorpusGenerator generator(corpus_options);
  ProgressBar progress(err, options.output.progress, "generating", options.count, "activities");
  std::string buffer;
  for (uint64_t i = 0; i < options.count; ++i) {
    buffer += generator.Generate(i).json;
    buffer += '\n';
    if (buffer.size() >= (1 << 16)) {
      out << buffer;
      buffer.clear();
      if (!out) break;
    }
    progress.Update(i + 1, i + 1);
  }
  out << buffer;
  out.flush();
  progress.Finish();
  if (!out) {
    err << "fedwall corpus generate: cannot write the output\n";
    return 1;
  }
  return 0;
}

}  // namespace fedwall::tools
