// report.html in headless Chromium: it renders without console errors, makes no network request
// (every request would go through a counting proxy on 127.0.0.1), and the screenshot is not blank.
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "../env/market_fixture.hpp"
#include "../support/fake_server.hpp"
#include "ploutos/backtest/backtest.hpp"
#include "ploutos/core/atomic_file.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos::backtest {
namespace {

namespace fs = std::filesystem;

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/snap/bin/"}) {
      const std::string path = std::string(dir) + name;
      if (fs::exists(path)) return path;
    }
  }
  return "";
}

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

struct Image {
  std::size_t width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // unfiltered rows
};

// 8-bit RGB/RGBA PNG, non-interlaced (what Chromium writes).
Image decode_png(const std::string& bytes) {
  Image img;
  std::string idat;
  std::size_t pos = 8;
  int colour_type = 0;
  while (pos + 8 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const std::uint32_t length = be32(p);
    const std::string type(bytes.data() + pos + 4, 4);
    const auto* data = p + 8;
    if (type == "IHDR") {
      img.width = be32(data);
      img.height = be32(data + 4);
      colour_type = data[9];
      if (data[8] != 8 || data[12] != 0) throw std::runtime_error("unsupported PNG");
    } else if (type == "IDAT") {
      idat.append(reinterpret_cast<const char*>(data), length);
    }
    pos += 12 + length;
  }
  img.channels = colour_type == 6 ? 4 : colour_type == 2 ? 3 : 0;
  if (img.channels == 0) throw std::runtime_error("unsupported PNG colour type");
  const std::size_t stride = img.width * img.channels;
  std::vector<unsigned char> raw((stride + 1) * img.height);
  uLongf size = raw.size();
  if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK)
    throw std::runtime_error("PNG inflate failed");
  img.pixels.assign(stride * img.height, 0);
  const std::size_t bpp = img.channels;
  for (std::size_t y = 0; y < img.height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    const unsigned char* in = &raw[y * (stride + 1) + 1];
    unsigned char* out = &img.pixels[y * stride];
    const unsigned char* up = y > 0 ? &img.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? out[x - bpp] : 0, b = up ? up[x] : 0, c = (up && x >= bpp) ? up[x - bpp] : 0;
      int v = in[x];
      if (filter == 1) v += a;
      if (filter == 2) v += b;
      if (filter == 3) v += (a + b) / 2;
      if (filter == 4) {
        const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
        v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
      }
      out[x] = static_cast<unsigned char>(v & 0xff);
    }
  }
  return img;
}

TEST(ReportHtml, OpensInHeadlessChromiumOfflineAndIsNotBlank) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/deps.sh installs it); skipped";
  const fs::path dir = fs::temp_directory_path() / ("ploutos_browser_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  auto m = test::flat_market(3, 120, 100.0);
  Rng rng(5);
  for (std::size_t k = 0; k < 3; ++k) {
    double p = 100;
    for (std::size_t t = 0; t < 120; ++t) {
      const double c = p * (1 + 0.02 * rng.normal());
      test::set_bar(m, t, k, p, std::max(p, c) * 1.01, std::min(p, c) * 0.99, c);
      p = c;
    }
  }
  m.tickers = {"AAA", "SPY", "CCC"};
  const auto market = std::make_shared<const env::MarketData>(m);
  env::EnvConfig config;
  config.min_holding_period = 0;
  const auto result = run_backtest(
      market, config, 20, 119,
      [&rng](std::span<const float>, std::span<std::int32_t> a) {
        for (auto& x : a) x = static_cast<std::int32_t>(rng.uniform_int(3));
      },
      1);
  write_outputs(result, dir.string());
  // Nothing in the page can load anything: no scripts, links, sources or CSS urls.
  std::ifstream page(dir / "report.html");
  std::stringstream html;
  html << page.rdbuf();
  for (const char* needle : {"<script", "<link", "src=", "href=", "url(", "@import", "<iframe", "<img"})
    EXPECT_EQ(html.str().find(needle), std::string::npos) << needle;

  std::atomic<int> requests{0};
  std::mutex seen_mutex;
  std::vector<std::string> seen;
  test::FakeServer proxy;
  proxy.server().set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    // Chromium's own services (component updater, accounts) are not the page's doing.
    const std::string host = req.get_header_value("Host");
    const bool browser_service = host.find("google.com") != std::string::npos ||
                                 host.find("googleapis.com") != std::string::npos ||
                                 host.find("gvt1.com") != std::string::npos;
    res.status = 502;
    if (browser_service) return httplib::Server::HandlerResponse::Handled;
    ++requests;
    std::lock_guard lock(seen_mutex);
    seen.push_back(req.method + " " + req.target + " " + req.get_header_value("Host"));
    return httplib::Server::HandlerResponse::Handled;
  });
  proxy.start();
  const std::string cmd =
      "'" + chromium + "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run " +
      "--disable-background-networking --disable-component-update --disable-sync --disable-default-apps " +
      "--disable-extensions --no-pings --disable-domain-reliability --disable-client-side-phishing-detection " +
      "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter,"
      "AutofillServerCommunication " +
      "--proxy-server=" + proxy.url() + " --proxy-bypass-list='<-loopback>' " + "--user-data-dir='" +
      (dir / "profile").string() + "' --window-size=1000,1600 --enable-logging=stderr " + "--screenshot='" +
      (dir / "shot.png").string() + "' 'file://" + (dir / "report.html").string() + "' > '" +
      (dir / "chromium.log").string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log_file(dir / "chromium.log");
  std::stringstream log;
  log << log_file.rdbuf();
  ASSERT_EQ(rc, 0) << log.str();
  std::string urls;
  for (const auto& u : seen) urls += u + "\n";
  EXPECT_EQ(requests.load(), 0) << "the report fetched something over the network:\n" << urls;
  EXPECT_EQ(log.str().find("CONSOLE"), std::string::npos) << "console messages (errors) while rendering:\n"
                                                          << log.str();

  std::ifstream png(dir / "shot.png", std::ios::binary);
  std::stringstream bytes;
  bytes << png.rdbuf();
  ASSERT_GT(bytes.str().size(), 1000u) << "no screenshot";
  const Image img = decode_png(bytes.str());
  ASSERT_EQ(img.width, 1000u);
  std::size_t ink = 0;
  std::set<int> colours;
  for (std::size_t i = 0; i + 2 < img.pixels.size(); i += img.channels) {
    const int r = img.pixels[i], g = img.pixels[i + 1], b = img.pixels[i + 2];
    if (r < 230 || g < 230 || b < 230) ++ink;
    colours.insert((r / 32) * 64 + (g / 32) * 8 + b / 32);
  }
  const double share = static_cast<double>(ink) / static_cast<double>(img.width * img.height);
  EXPECT_GT(share, 0.01) << "the screenshot is (almost) blank";
  EXPECT_GE(colours.size(), 6u) << "charts draw in several colours";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ploutos::backtest
