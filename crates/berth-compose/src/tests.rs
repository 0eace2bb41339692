//! Loader tests over real files in temp dirs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::Builder::new()
            .prefix("My App.")
            .tempdir()
            .unwrap())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
    fn opts(&self) -> LoadOptions {
        LoadOptions {
            cwd: self.path().to_path_buf(),
            ..Default::default()
        }
    }
    fn load(&self) -> Result<Loaded, Error> {
        load(&self.opts())
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn finds_the_default_file_and_its_override() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    environment: [A=1]\n",
    );
    d.write(
        "compose.override.yaml",
        "services:\n  web:\n    environment:\n      B: 2\n",
    );
    std::fs::create_dir(d.path().join("sub")).unwrap();
    let mut o = d.opts();
    o.cwd = d.path().join("sub");
    let l = load(&o).unwrap();
    let web = &l.project.services["web"];
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert_eq!(web.environment["B"].as_deref(), Some("2"));
    assert_eq!(l.project.config_files.len(), 2);
    assert_eq!(l.project.working_dir, d.path());
}

#[test]
fn no_file_is_a_clear_error() {
    let d = Dir::new();
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("no configuration file provided"), "{e}");
}

#[test]
fn project_name_rules() {
    assert_eq!(normalize_project_name("My App.x1"), "myappx1");
    assert_eq!(normalize_project_name("_-Web_1"), "web_1");
    assert_eq!(normalize_project_name("..."), "");

    let d = Dir::new();
    d.write("compose.yaml", "services:\n  a:\n    image: busybox\n");
    // From the directory, normalised.
    let dirname = normalize_project_name(&d.path().file_name().unwrap().to_string_lossy());
    assert_eq!(d.load().unwrap().project.name, dirname);
    // `name:` beats the directory, COMPOSE_PROJECT_NAME beats `name:`, -p beats both.
    d.write(
        "compose.yaml",
        "name: fromfile\nservices:\n  a:\n    image: busybox\n",
    );
    assert_eq!(d.load().unwrap().project.name, "fromfile");
    let mut o = d.opts();
    o.os_env = env(&[("COMPOSE_PROJECT_NAME", "fromenv")]);
    assert_eq!(load(&o).unwrap().project.name, "fromenv");
    o.project_name = Some("fromflag".into());
    assert_eq!(load(&o).unwrap().project.name, "fromflag");
    o.project_name = Some("Bad Name".into());
    let e = load(&o).unwrap_err().to_string();
    assert!(e.contains("invalid project name"), "{e}");
}

#[test]
fn dotenv_and_process_environment_interpolate() {
    let d = Dir::new();
    d.write(".env", "TAG=1.0\nPORT=8080\n");
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: \"busybox:${TAG}\"\n    ports: [\"${PORT}:80\"]\n    command: echo $$HOME ${MISSING:-dflt}\n    labels: {u: \"${NOPE}\"}\n",
    );
    let mut o = d.opts();
    o.os_env = env(&[("PORT", "9090")]);
    let l = load(&o).unwrap();
    let web = &l.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("busybox:1.0"));
    assert_eq!(web.ports[0].published.as_deref(), Some("9090"));
    assert_eq!(web.command.as_ref().unwrap(), &["echo", "$HOME", "dflt"]);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("\"NOPE\" variable is not set")),
        "{:?}",
        l.warnings
    );

    // --env-file replaces .env.
    d.write("other.env", "TAG=2.0\n");
    let mut o = d.opts();
    o.env_files = vec!["other.env".into()];
    let l = load(&o).unwrap();
    assert_eq!(
        l.project.services["web"].image.as_deref(),
        Some("busybox:2.0")
    );
}

#[test]
fn required_variable_errors_name_file_and_key() {
    let d = Dir::new();
    let f = d.write(
        "compose.yaml",
        "services:\n  web:\n    image: ${IMG:?set IMG}\n",
    );
    let e = d.load().unwrap_err();
    assert_eq!(e.file.as_deref(), Some(f.to_str().unwrap()));
    assert_eq!(e.path, "services.web.image");
    assert!(e.message.contains("set IMG"));
}

#[test]
fn several_files_merge_in_order() {
    let d = Dir::new();
    d.write(
        "a.yml",
        "services:\n  web:\n    image: a\n    command: [one]\n    ports: ['80']\n    volumes: ['data:/data', '/cache']\n    environment: {A: '1'}\nvolumes:\n  data: {}\n",
    );
    d.write(
        "b.yml",
        "services:\n  web:\n    image: b\n    command: two three\n    ports: [{target: 443, published: 8443}]\n    volumes: ['./local:/data:ro']\n    environment: [B=2]\n",
    );
    let mut o = d.opts();
    o.files = vec!["a.yml".into(), "b.yml".into()];
    let p = load(&o).unwrap().project;
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("b"));
    assert_eq!(web.command.as_ref().unwrap(), &["two", "three"]);
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.ports[1].published.as_deref(), Some("8443"));
    assert_eq!(web.volumes.len(), 2);
    assert_eq!(web.volumes[0].kind, "bind");
    assert_eq!(
        web.volumes[0].source.as_deref(),
        Some(d.path().join("local").to_str().unwrap())
    );
    assert!(web.volumes[0].read_only);
    assert_eq!(web.environment.len(), 2);
}

#[test]
fn anchors_merge_keys_and_extensions() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        r#"
x-common: &common
  image: busybox
  environment:
    SHARED: "yes"
  restart: always
services:
  a:
    <<: *common
    command: ["a"]
  b:
    <<: *common
    restart: "no"
    x-note: kept
"#,
    );
    let p = d.load().unwrap().project;
    assert_eq!(p.services["a"].image.as_deref(), Some("busybox"));
    assert_eq!(p.services["a"].restart.as_deref(), Some("always"));
    assert_eq!(p.services["b"].restart.as_deref(), Some("no"));
    assert_eq!(
        p.services["b"].environment["SHARED"].as_deref(),
        Some("yes")
    );
    assert_eq!(p.services["b"].other["x-note"], "kept");
    assert!(p.extensions.contains_key("x-common"));
}

#[test]
fn extends_same_file_and_other_file() {
    let d = Dir::new();
    d.write(
        "base/common.yml",
        "services:\n  tmpl:\n    image: busybox\n    env_file: vars.env\n    volumes: ['./conf:/conf']\n",
    );
    d.write("base/vars.env", "FROM_BASE=1\n");
    d.write(
        "compose.yaml",
        r#"
services:
  base:
    image: alpine
    environment: {A: "1"}
    cap_add: [NET_ADMIN]
  child:
    extends: base
    environment: {B: "2"}
    cap_add: [SYS_TIME]
  grandchild:
    extends: {service: child}
    image: busybox
  remote:
    extends: {file: base/common.yml, service: tmpl}
"#,
    );
    let p = d.load().unwrap().project;
    let c = &p.services["child"];
    assert_eq!(c.image.as_deref(), Some("alpine"));
    assert_eq!(c.environment.len(), 2);
    assert_eq!(c.cap_add, ["NET_ADMIN", "SYS_TIME"]);
    let g = &p.services["grandchild"];
    assert_eq!(g.image.as_deref(), Some("busybox"));
    assert_eq!(g.environment.len(), 2);
    let r = &p.services["remote"];
    assert_eq!(r.environment["FROM_BASE"].as_deref(), Some("1"));
    // Paths in the other file are relative to that file.
    assert_eq!(
        r.volumes[0].source.as_deref(),
        Some(d.path().join("base/conf").to_str().unwrap())
    );
}

#[test]
fn extends_cycles_are_errors() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  a:\n    extends: b\n    image: x\n  b:\n    extends: a\n",
    );
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("circular extends"), "{e}");
}

#[test]
fn include_brings_services_and_refuses_conflicts() {
    let d = Dir::new();
    d.write(
        "db/compose.yaml",
        "services:\n  db:\n    image: busybox\n    volumes: ['./init:/init']\nvolumes:\n  dbdata: {}\n",
    );
    d.write(
        "compose.yaml",
        "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: busybox\n    depends_on: [db]\n",
    );
    let p = d.load().unwrap().project;
    assert!(p.services.contains_key("db"));
    assert!(p.volumes.contains_key("dbdata"));
    assert_eq!(
        p.services["db"].volumes[0].source.as_deref(),
        Some(d.path().join("db/init").to_str().unwrap())
    );
    d.write(
        "compose.yaml",
        "include:\n  - db/compose.yaml\nservices:\n  db:\n    image: other\n",
    );
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("services.db") && e.contains("conflicts"), "{e}");
}

#[test]
fn profiles_disable_services() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [dev]\n  tools:\n    image: busybox\n    profiles: [dev, ops]\n",
    );
    let p = d.load().unwrap().project;
    assert_eq!(p.services.keys().collect::<Vec<_>>(), ["web"]);
    let mut o = d.opts();
    o.profiles = vec!["ops".into()];
    let p = load(&o).unwrap().project;
    assert_eq!(p.services.keys().collect::<Vec<_>>(), ["tools", "web"]);
    o.profiles = vec![];
    o.os_env = env(&[("COMPOSE_PROFILES", "dev")]);
    let mut p = load(&o).unwrap().project;
    assert_eq!(p.services.len(), 3);
    o.os_env.clear();
    p = load(&o).unwrap().project;
    p.enable(&["debug".into()]);
    assert!(p.services.contains_key("debug"));
}

#[test]
fn depending_on_a_disabled_service_is_an_error() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    depends_on: [debug]\n  debug:\n    image: busybox\n    profiles: [dev]\n",
    );
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("disabled by its profiles"), "{e}");
}

#[test]
fn unknown_keys_warn_and_bad_shapes_fail() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "version: '3.8'\nbogus: 1\nservices:\n  web:\n    image: busybox\n    imagee: typo\n",
    );
    let l = d.load().unwrap();
    assert!(
        l.warnings.iter().any(|w| w.contains("\"imagee\"")),
        "{:?}",
        l.warnings
    );
    assert!(l.warnings.iter().any(|w| w.contains("\"bogus\"")));
    assert!(l.warnings.iter().any(|w| w.contains("obsolete")));

    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    ports: ['80/icmp']\n",
    );
    let e = d.load().unwrap_err();
    assert_eq!(e.path, "services.web.ports[0]");

    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    privileged: maybe\n",
    );
    let e = d.load().unwrap_err();
    assert_eq!(e.path, "services.web");
    assert!(e.message.contains("boolean"), "{e}");

    d.write("compose.yaml", "services:\n  web:\n    command: [x]\n");
    assert!(d
        .load()
        .unwrap_err()
        .to_string()
        .contains("neither an image nor a build"));

    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    volumes: ['data:/d']\n",
    );
    assert!(d
        .load()
        .unwrap_err()
        .to_string()
        .contains("undefined volume \"data\""));

    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    depends_on: [db]\n",
    );
    assert!(d
        .load()
        .unwrap_err()
        .to_string()
        .contains("undefined service \"db\""));

    d.write("compose.yaml", "services:\n  web: [\n");
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("compose.yaml"), "{e}");
}

#[test]
fn normalises_every_short_form() {
    let d = Dir::new();
    d.write("web.env", "FROM_FILE=1\nOVERRIDDEN=file\n");
    d.write("secret.txt", "s3cret");
    d.write(
        "compose.yaml",
        r#"
services:
  web:
    build: ./app
    command: httpd -f -p "80"
    entrypoint: /bin/sh
    env_file: web.env
    environment:
      - OVERRIDDEN=env
      - FROM_SHELL
      - NOT_ANYWHERE
    depends_on: [db]
    networks: [front]
    extra_hosts: {somehost: 10.0.0.1}
    healthcheck:
      test: wget -q -O- localhost
      interval: 5s
      retries: "3"
    ulimits:
      nofile: 1024
      nproc: {soft: 10, hard: 20}
    secrets: [token]
    sysctls: [net.core.somaxconn=1024]
    tmpfs: /run
    deploy:
      replicas: ${N:-2}
      resources: {limits: {cpus: "0.5", memory: 64M}}
  db:
    image: busybox
networks:
  front:
secrets:
  token:
    file: ./secret.txt
"#,
    );
    let mut o = d.opts();
    o.os_env = env(&[("FROM_SHELL", "sh")]);
    let p = load(&o).unwrap().project;
    let web = &p.services["web"];
    let b = web.build.as_ref().unwrap();
    assert_eq!(b.context, d.path().join("app").to_str().unwrap());
    assert_eq!(web.command.as_ref().unwrap(), &["httpd", "-f", "-p", "80"]);
    assert_eq!(web.entrypoint.as_ref().unwrap(), &["/bin/sh"]);
    assert_eq!(web.environment["FROM_FILE"].as_deref(), Some("1"));
    assert_eq!(web.environment["OVERRIDDEN"].as_deref(), Some("env"));
    assert_eq!(web.environment["FROM_SHELL"].as_deref(), Some("sh"));
    assert_eq!(web.environment["NOT_ANYWHERE"], None);
    assert_eq!(web.depends_on["db"].condition, "service_started");
    assert!(web.networks.contains_key("front"));
    assert!(!web.networks.contains_key("default"));
    assert!(p.services["db"].networks.contains_key("default"));
    assert_eq!(p.networks["default"].name, format!("{}_default", p.name));
    assert_eq!(p.networks["front"].name, format!("{}_front", p.name));
    assert_eq!(web.extra_hosts, ["somehost:10.0.0.1"]);
    let h = web.healthcheck.as_ref().unwrap();
    assert_eq!(
        h.test.as_ref().unwrap(),
        &["CMD-SHELL", "wget -q -O- localhost"]
    );
    assert_eq!(h.retries, Some(3));
    assert_eq!(
        web.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 1024
        }
    );
    assert_eq!(web.ulimits["nproc"], Ulimit { soft: 10, hard: 20 });
    assert_eq!(web.secrets[0].source, "token");
    assert_eq!(
        p.secrets["token"].file.as_deref(),
        Some(d.path().join("secret.txt").to_str().unwrap())
    );
    assert_eq!(web.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(web.tmpfs, ["/run"]);
    assert_eq!(web.replicas(), 2);
    let lim = web
        .deploy
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .limits
        .as_ref()
        .unwrap();
    assert_eq!(lim.memory.as_deref(), Some("64M"));
    assert_eq!(web.image_name(&p.name, "web"), format!("{}-web", p.name));
    assert_eq!(p.start_order().unwrap(), ["db", "web"]);
}

#[test]
fn config_hash_ignores_replicas_but_not_env() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    environment: {X: '1'}\n",
    );
    let p1 = d.load().unwrap().project;
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    environment: {X: '1'}\n    scale: 3\n",
    );
    let p2 = d.load().unwrap().project;
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    environment: {X: '2'}\n",
    );
    let p3 = d.load().unwrap().project;
    let h = |p: &Project| config_hash(&p.services["a"]);
    assert_eq!(h(&p1), h(&p2));
    assert_ne!(h(&p1), h(&p3));
}

#[test]
fn dependency_cycles_are_errors() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
    );
    let e = d.load().unwrap_err().to_string();
    assert!(e.contains("dependency cycle"), "{e}");
}

#[test]
fn config_output_round_trips() {
    let d = Dir::new();
    d.write(
        "compose.yaml",
        "name: rt\nservices:\n  web:\n    image: busybox\n    ports: ['8080:80']\n    volumes: ['data:/data']\nvolumes:\n  data:\n",
    );
    let p = d.load().unwrap().project;
    let yaml = p.to_yaml();
    assert!(yaml.contains("name: rt_data"), "{yaml}");
    d.write("compose.yaml", &yaml);
    let again = d.load().unwrap().project;
    assert_eq!(again.services, p.services);
    assert_eq!(again.volumes, p.volumes);
}
