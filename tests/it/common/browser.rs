//! A real Chromium driven through chromedriver. Elements are found the way a person finds
//! them (label text, button and link text), and axe-core checks every page visited.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const AXE: &str = include_str!("../../assets/axe.min.js");

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    /// Chromium's profile, removed with the browser.
    profile: PathBuf,
}

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An XPath string literal for any text.
fn literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("concat('{}')", text.replace('\'', "', \"'\", '"))
    }
}

/// A JavaScript string literal for any text.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string")
}

impl Browser {
    /// Starts Chromium, or says why the test is skipped. With YARDSTICK_REQUIRE_BROWSER=1 a
    /// missing browser fails the test instead.
    pub async fn start(base: &str) -> Option<Browser> {
        let chromium = find(&[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ]);
        let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let message = "skipped: browser test needs Chromium and chromedriver (apt-get install -y chromium chromium-driver)";
            if std::env::var("YARDSTICK_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("{message}, and YARDSTICK_REQUIRE_BROWSER=1");
            }
            println!("{message}");
            return None;
        };
        Some(Self::launch(&chromium, &driver, base).await)
    }

    async fn launch(chromium: &Path, driver: &Path, base: &str) -> Browser {
        let port = free_port();
        use std::os::unix::process::CommandExt;
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browser it starts goes with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("yardstick-chromium-{}-{port}", std::process::id()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--window-size=1280,900", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Browser {
            client,
            base: base.to_string(),
            driver,
            profile,
        }
    }

    /// Signs in through the real sign-in page.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.visit("/login").await;
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.press("Sign in").await;
    }

    /// Opens a path of the app and checks the page.
    pub async fn visit(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigation");
        self.check_page().await;
    }

    /// Opens a path without the accessibility check (pages of third-party tools, such as
    /// the API's Swagger UI), waiting up to ten seconds for `text` to appear.
    pub async fn open_until(&self, path: &str, text: &str) -> String {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigation");
        for _ in 0..100 {
            let shown = self.text().await;
            if shown.contains(text) {
                return shown;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{text:?} never appeared on {path}: {}", self.text().await);
    }

    /// Runs axe-core (WCAG 2.0/2.1, levels A and AA) on the current page and fails on any
    /// violation.
    pub async fn check_page(&self) {
        self.client
            .execute(&format!("{AXE}\n;return true;"), vec![])
            .await
            .expect("axe loads");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                    .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' at ' +
                        v.nodes.map(n => n.target.join(' ')).join(', '))))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe runs");
        let violations: Vec<String> = serde_json::from_value(result).unwrap_or_default();
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        assert!(
            violations.is_empty(),
            "accessibility violations on {url}:\n{}",
            violations.join("\n")
        );
    }

    /// The form control a visible label names (its text, without "(optional)").
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!(
            "//label[normalize-space(.)={0} or normalize-space(text()[1])={0}]",
            literal(label)
        );
        let label_element = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("no label {label:?}"));
        let id = label_element
            .attr("for")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("label {label:?} names no field"));
        self.client
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|_| panic!("no field for label {label:?}"))
    }

    /// Types into the field a label names, replacing what was there.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Ticks the checkbox or radio button a label names.
    pub async fn tick(&self, label: &str) {
        self.field(label).await.click().await.unwrap();
    }

    /// Chooses the option whose visible text contains `option` in the select a label names.
    pub async fn choose(&self, label: &str, option: &str) {
        let select = self.field(label).await;
        let xpath = format!(
            ".//option[contains(normalize-space(.), {})]",
            literal(option)
        );
        let choice = select
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("no option {option:?} in {label:?}"));
        choice.click().await.unwrap();
    }

    /// Presses the button with this text, then checks the page it leads to.
    pub async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.)={}]", literal(text));
        self.click_to_new_page(&xpath, &format!("button {text:?}"))
            .await;
    }

    /// Follows the link with this text, then checks the page it leads to.
    pub async fn follow(&self, text: &str) {
        let xpath = format!("//a[normalize-space(.)={}]", literal(text));
        self.click_to_new_page(&xpath, &format!("link {text:?}"))
            .await;
    }

    async fn click_to_new_page(&self, xpath: &str, what: &str) {
        let element = self
            .client
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|_| panic!("no {what}"));
        self.mark_document().await;
        element.click().await.unwrap();
        self.wait_for_new_document().await;
    }

    /// Marks the current document, so a new one can be told apart.
    async fn mark_document(&self) {
        self.client
            .execute("window.__yardstickOldPage = true; return true;", vec![])
            .await
            .unwrap();
    }

    /// Waits until a new document has loaded after a click, then checks it.
    async fn wait_for_new_document(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self
                .client
                .execute(
                    "return !window.__yardstickOldPage && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if loaded {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no new page loaded after the click"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.check_page().await;
    }

    /// Presses keys as a person would (no element targeted: whatever has the focus gets
    /// them). Special keys are `fantoccini::key::Key` characters.
    pub async fn keys(&self, text: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".to_string());
        for value in text.chars() {
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await.expect("keys");
    }

    /// Presses Tab until the focused element satisfies `test` (JavaScript on `el`), checking
    /// that every element reached shows where the focus is. Fails if Tab never gets there.
    async fn tab_to(&self, test: &str, what: &str) {
        let tab = char::from(fantoccini::key::Key::Tab).to_string();
        for _ in 0..200 {
            self.keys(&tab).await;
            let found = self
                .client
                .execute(
                    &format!(
                        "const el = document.activeElement; const s = getComputedStyle(el);
                         // Past the last element the focus leaves the page (body) before
                         // it wraps round to the first.
                         const visible = el === document.body || s.outlineStyle !== 'none' || s.boxShadow !== 'none';
                         return [Boolean({test}), visible, el.outerHTML.slice(0, 160)];"
                    ),
                    vec![],
                )
                .await
                .expect("focus check");
            let visible = found[1].as_bool().unwrap_or(false);
            assert!(visible, "no visible focus on {}", found[2]);
            if found[0].as_bool().unwrap_or(false) {
                return;
            }
        }
        panic!("{what} cannot be reached with the Tab key");
    }

    /// Tabs to the field a label names and types into it.
    pub async fn key_fill(&self, label: &str, text: &str) {
        let id = self.field(label).await.attr("id").await.unwrap().unwrap();
        self.tab_to(&format!("el.id === {}", js_string(&id)), label)
            .await;
        self.keys(text).await;
    }

    /// Tabs to the select a label names and moves down its options until one containing
    /// `option` is chosen.
    pub async fn key_choose(&self, label: &str, option: &str) {
        let id = self.field(label).await.attr("id").await.unwrap().unwrap();
        self.tab_to(&format!("el.id === {}", js_string(&id)), label)
            .await;
        let down = char::from(fantoccini::key::Key::Down).to_string();
        for _ in 0..100 {
            let chosen = self
                .client
                .execute(
                    "const el = document.activeElement; return el.options[el.selectedIndex].text;",
                    vec![],
                )
                .await
                .unwrap();
            if chosen.as_str().unwrap_or_default().contains(option) {
                return;
            }
            self.keys(&down).await;
        }
        panic!("no option {option:?} in {label:?}");
    }

    /// Tabs to the button or link with this text, presses Enter, and checks the page it
    /// leads to.
    pub async fn key_activate(&self, text: &str) {
        self.tab_to(
            &format!(
                "(el.tagName === 'A' || el.tagName === 'BUTTON') && el.innerText.trim() === {}",
                js_string(text)
            ),
            text,
        )
        .await;
        self.mark_document().await;
        self.keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await;
        self.wait_for_new_document().await;
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let value: Value = self
            .client
            .execute("return document.body.innerText;", vec![])
            .await
            .unwrap();
        value.as_str().unwrap_or_default().to_string()
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_string())
            .unwrap_or_default()
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.driver.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_driver();
    }
}
