// The per-execution state machine against real captured messages (tests/fixtures/kernel-transcripts).

#include "jupyter/execution.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cellblock::jupyter {
namespace {

namespace json = boost::json;

json::array load_cells(const std::string& name) {
  std::ifstream file(std::string(CELLBLOCK_FIXTURES_DIR) + "/kernel-transcripts/" + name);
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str()).as_array();
}

Message to_message(const json::object& captured) {
  Message message;
  message.header = captured.at("header").as_object();
  message.parent_header = captured.at("parent_header").as_object();
  message.metadata = captured.at("metadata").as_object();
  message.content = captured.at("content").as_object();
  message.msg_type = std::string(string_field(message.header, "msg_type"));
  message.msg_id = std::string(string_field(message.header, "msg_id"));
  message.parent_msg_id = std::string(string_field(message.parent_header, "msg_id"));
  return message;
}

struct Cell {
  std::string request_id;
  std::vector<Message> iopub;  // only those whose parent is the request, as Kernel routes them
  Message reply;
};

Cell load_cell(const std::string& file, std::size_t index) {
  const json::array cells = load_cells(file);
  const auto& record = cells.at(index).as_object();
  Cell cell;
  cell.reply = to_message(record.at("shell").as_array().at(0).as_object());
  cell.request_id = cell.reply.parent_msg_id;
  for (const auto& captured : record.at("iopub").as_array()) {
    Message message = to_message(captured.as_object());
    if (message.parent_msg_id == cell.request_id) cell.iopub.push_back(std::move(message));
  }
  return cell;
}

enum class ReplyOrder { kBeforeIdle, kAfterIdle };

// Feeds a cell into an Execution the way the I/O thread does, finishing as soon as it is complete.
std::vector<ExecuteEvent> replay(const Cell& cell, ReplyOrder order, bool silent = false) {
  std::vector<ExecuteEvent> events;
  Execution execution(cell.request_id, silent,
                      [&events](ExecuteEvent&& event) { events.push_back(std::move(event)); });
  bool finished = false;
  auto maybe_finish = [&] {
    if (!finished && execution.complete()) {
      finished = true;
      execution.finish();
    }
  };
  for (const auto& message : cell.iopub) {
    bool is_idle = message.msg_type == "status" && string_field(message.content, "execution_state") == "idle";
    if (is_idle && order == ReplyOrder::kBeforeIdle) {
      execution.on_reply(cell.reply);
      EXPECT_FALSE(execution.complete()) << "complete before idle";
    }
    execution.on_iopub(message);
    maybe_finish();
  }
  if (order == ReplyOrder::kAfterIdle) {
    EXPECT_FALSE(execution.complete()) << "complete before the reply";
    execution.on_reply(cell.reply);
    maybe_finish();
  }
  EXPECT_TRUE(finished);
  return events;
}

template <class T>
const T& at(const std::vector<ExecuteEvent>& events, std::size_t index) {
  EXPECT_LT(index, events.size());
  EXPECT_TRUE(std::holds_alternative<T>(events.at(index)))
      << "event " << index << " has index " << events.at(index).index();
  return std::get<T>(events.at(index));
}

TEST(JupyterExecution, StreamsInBothReplyOrders) {
  const Cell cell = load_cell("python_01_stdout_stderr.json", 0);
  for (auto order : {ReplyOrder::kBeforeIdle, ReplyOrder::kAfterIdle}) {
    auto events = replay(cell, order);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(at<ExecutionCount>(events, 0).count, 1);
    EXPECT_FALSE(at<StreamOutput>(events, 1).is_stderr);
    EXPECT_EQ(at<StreamOutput>(events, 1).text, "hello stdout\nno newline");
    EXPECT_TRUE(at<StreamOutput>(events, 2).is_stderr);
    EXPECT_EQ(at<StreamOutput>(events, 2).text, "hello stderr\n");
    EXPECT_EQ(at<ExecuteDone>(events, 3).status, ExecuteDone::Status::kOk);
  }
}

TEST(JupyterExecution, ErrorIsReportedOnce) {
  auto events = replay(load_cell("python_02_exception.json", 0), ReplyOrder::kAfterIdle);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(at<ExecutionCount>(events, 0).count, 2);
  const auto& error = at<ExecuteError>(events, 1);
  EXPECT_EQ(error.ename, "ZeroDivisionError");
  EXPECT_EQ(error.evalue, "division by zero");
  EXPECT_FALSE(error.traceback.empty());
  EXPECT_EQ(at<ExecuteDone>(events, 2).status, ExecuteDone::Status::kError);
}

TEST(JupyterExecution, DisplayUpdateAndClear) {
  auto events = replay(load_cell("python_14_update_display_and_clear.json", 0), ReplyOrder::kAfterIdle);
  ASSERT_EQ(events.size(), 7u);
  const auto& first = at<DisplayOutput>(events, 1);
  EXPECT_FALSE(first.is_execute_result);
  EXPECT_FALSE(first.is_update);
  EXPECT_FALSE(first.display_id.empty());
  EXPECT_EQ(first.data.at("text/plain").as_string(), "'first'");
  const auto& update = at<DisplayOutput>(events, 2);
  EXPECT_TRUE(update.is_update);
  EXPECT_EQ(update.display_id, first.display_id);
  EXPECT_EQ(update.data.at("text/plain").as_string(), "'second'");
  EXPECT_EQ(at<StreamOutput>(events, 3).text, "to be cleared\n");
  EXPECT_FALSE(at<ClearOutput>(events, 4).wait);
  EXPECT_EQ(at<StreamOutput>(events, 5).text, "after clear\n");
  EXPECT_EQ(at<ExecuteDone>(events, 6).status, ExecuteDone::Status::kOk);
}

TEST(JupyterExecution, ExecuteResultAndRichMimes) {
  auto events = replay(load_cell("python_04_pandas_last_expr.json", 0), ReplyOrder::kBeforeIdle);
  ASSERT_GE(events.size(), 3u);
  const auto& result = at<DisplayOutput>(events, events.size() - 2);
  EXPECT_TRUE(result.is_execute_result);
  EXPECT_TRUE(result.data.contains("text/html"));
  EXPECT_TRUE(result.data.contains("text/plain"));
}

// tslab: an error reply without ename/evalue/traceback, no iopub error and no execute_input.
TEST(JupyterExecution, ErrorReplyWithoutDetailsIsSynthesized) {
  auto events = replay(load_cell("tslab_cells.json", 1), ReplyOrder::kAfterIdle);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(at<StreamOutput>(events, 0).is_stderr);
  EXPECT_EQ(at<ExecutionCount>(events, 1).count, 2);  // from the reply, since no execute_input came
  EXPECT_EQ(at<ExecuteError>(events, 2).ename, "Error");
  EXPECT_EQ(at<ExecuteDone>(events, 3).status, ExecuteDone::Status::kError);
}

TEST(JupyterExecution, AbortStatusesAndUnknownStatus) {
  Cell cell = load_cell("python_06_one_plus_one.json", 0);
  for (const char* status : {"aborted", "abort"}) {
    cell.reply.content = {{"status", status}};
    auto events = replay(cell, ReplyOrder::kAfterIdle);
    EXPECT_EQ(std::get<ExecuteDone>(events.back()).status, ExecuteDone::Status::kAborted) << status;
    EXPECT_EQ(std::count_if(events.begin(), events.end(),
                            [](const auto& e) { return std::holds_alternative<ExecuteError>(e); }),
              0);
  }
  cell.reply.content = {{"status", "weird"}};
  auto events = replay(cell, ReplyOrder::kAfterIdle);
  EXPECT_EQ(std::get<ExecuteDone>(events.back()).status, ExecuteDone::Status::kError);
  EXPECT_NE(std::get<ExecuteError>(events[events.size() - 2]).evalue.find("weird"), std::string::npos);
}

TEST(JupyterExecution, SilentCellsReportNoCount) {
  Cell cell = load_cell("python_01_stdout_stderr.json", 0);
  std::erase_if(cell.iopub, [](const Message& m) { return m.msg_type == "execute_input"; });
  auto events = replay(cell, ReplyOrder::kAfterIdle, /*silent=*/true);
  for (const auto& event : events) EXPECT_FALSE(std::holds_alternative<ExecutionCount>(event));
}

TEST(JupyterExecution, EndIsFinalAndIgnoresLaterMessages) {
  const Cell cell = load_cell("python_01_stdout_stderr.json", 0);
  std::vector<ExecuteEvent> events;
  Execution execution(cell.request_id, false,
                      [&events](ExecuteEvent&& event) { events.push_back(std::move(event)); });
  execution.on_iopub(cell.iopub.at(0));
  execution.end(ExecuteDone::Status::kKernelDied, "gone", ExecuteError{"KernelDied", "exit status 1", {}});
  for (const auto& message : cell.iopub) execution.on_iopub(message);
  execution.on_reply(cell.reply);
  execution.finish();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(at<ExecuteError>(events, 0).ename, "KernelDied");
  EXPECT_EQ(at<ExecuteDone>(events, 1).status, ExecuteDone::Status::kKernelDied);
  EXPECT_EQ(at<ExecuteDone>(events, 1).detail, "gone");
}

}  // namespace
}  // namespace cellblock::jupyter
