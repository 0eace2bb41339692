//! Planning a container's mounts: dockerd's checks and messages, and which mount wins.

use super::*;

fn hc(v: Value) -> HostConfig {
    serde_json::from_value(v).unwrap()
}

fn cfg(volumes: &[&str]) -> ContainerConfig {
    let mut c = ContainerConfig::default();
    for v in volumes {
        c.volumes.insert(v.to_string(), json!({}));
    }
    c
}

fn err(config: &ContainerConfig, h: Value) -> String {
    plan(config, &hc(h), Vec::new()).unwrap_err().message
}

#[test]
fn binds_become_volumes_or_host_binds() {
    let p = plan(
        &cfg(&[]),
        &hc(
            json!({"Binds": ["data:/data:ro,nocopy", "/host/dir:/h:rslave", "/anon"],
                   "VolumeDriver": "plug"}),
        ),
        Vec::new(),
    )
    .unwrap();
    assert_eq!(p.len(), 3);
    match &p[0] {
        Wanted::Volume {
            name,
            destination,
            rw,
            mode,
            copy_data,
            driver,
            from_binds,
            ..
        } => {
            assert_eq!(name.as_deref(), Some("data"));
            assert_eq!(destination, "/data");
            assert!(!rw && !copy_data && *from_binds);
            assert_eq!(mode, "ro,nocopy");
            assert_eq!(driver.as_deref(), Some("plug"));
        }
        other => panic!("{other:?}"),
    }
    let Wanted::Other(b) = &p[1] else {
        panic!("{:?}", p[1])
    };
    assert_eq!(
        (
            b.kind.as_str(),
            b.source.as_str(),
            b.propagation.as_str(),
            b.rw
        ),
        ("bind", "/host/dir", "rslave", true)
    );
    assert!(matches!(&p[2], Wanted::Volume { name: None, .. }));
}

#[test]
fn api_mounts() {
    let p = plan(
        &cfg(&[]),
        &hc(json!({"Mounts": [
            {"Type": "volume", "Source": "v1", "Target": "/v", "ReadOnly": true,
             "VolumeOptions": {"NoCopy": true, "Labels": {"a": "b"},
                               "DriverConfig": {"Name": "plug", "Options": {"o": "1"}}}},
            {"Type": "bind", "Source": "/srv//x/", "Target": "/b",
             "BindOptions": {"Propagation": "rshared"}},
            {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}},
            {"Type": "volume", "Target": "/anon"}
        ]})),
        Vec::new(),
    )
    .unwrap();
    let Wanted::Volume {
        name,
        rw,
        copy_data,
        driver,
        options,
        labels,
        ..
    } = &p[0]
    else {
        panic!("{:?}", p[0])
    };
    assert_eq!(name.as_deref(), Some("v1"));
    assert!(!rw && !copy_data);
    assert_eq!(driver.as_deref(), Some("plug"));
    assert_eq!(options["o"], "1");
    assert_eq!(labels["a"], "b");
    let Wanted::Other(b) = &p[1] else { panic!() };
    assert_eq!(
        (b.source.as_str(), b.propagation.as_str()),
        ("/srv/x", "rshared")
    );
    let Wanted::Other(t) = &p[2] else { panic!() };
    assert_eq!(t.kind, "tmpfs");
    assert!(matches!(&p[3], Wanted::Volume { name: None, .. }));
}

#[test]
fn dockerd_messages() {
    let none = cfg(&[]);
    assert_eq!(
        err(&none, json!({"Binds": ["/a:/x", "v1:/x"]})),
        "Duplicate mount point: /x"
    );
    assert_eq!(
        err(
            &none,
            json!({"Binds": ["/a:/x"], "Mounts": [{"Type": "tmpfs", "Target": "/x/"}]})
        ),
        "Duplicate mount point: /x"
    );
    assert_eq!(
        err(&none, json!({"Mounts": [{"Type": "volume", "Target": "/x", "ReadOnly": true}]})),
        "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"
    );
    assert_eq!(
        err(&none, json!({"Mounts": [{"Type": "volume", "Target": "rel"}]})),
        "invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
    );
    assert!(err(
        &none,
        json!({"Mounts": [{"Type": "volume", "Source": "a/b", "Target": "/x"}]})
    )
    .contains("includes invalid characters for a local volume name"));
    assert_eq!(
        err(&cfg(&["rel"]), json!({})),
        "invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
    );
    assert_eq!(
        err(&none, json!({"Binds": ["/a:/b:bogus"]})),
        "invalid mode: bogus"
    );
    assert_eq!(parse_volumes_from("c1").unwrap(), ("c1", true));
    assert_eq!(parse_volumes_from("c1:ro").unwrap(), ("c1", false));
    assert_eq!(
        parse_volumes_from("c1:rshared").unwrap_err().message,
        "invalid mode: rshared"
    );
    assert_eq!(
        parse_volumes_from("").unwrap_err().message,
        "volumes-from specification cannot be an empty string"
    );
}

#[test]
fn image_volumes_fill_only_free_places() {
    let inherited = MountRecord {
        kind: "volume".into(),
        name: "shared".into(),
        destination: "/from".into(),
        inherited: true,
        ..Default::default()
    };
    let overridden = MountRecord {
        destination: "/mine".into(),
        ..inherited.clone()
    };
    let p = plan(
        &cfg(&["/data", "/mine", "/from/", "/tmp", "/fresh"]),
        &hc(json!({"Binds": ["/h:/mine"], "Tmpfs": {"/tmp": ""}})),
        vec![inherited.clone(), overridden],
    )
    .unwrap();
    let dests: Vec<&str> = p.iter().map(Wanted::destination).collect();
    assert_eq!(dests, ["/mine", "/from", "/data", "/fresh"]);
    assert_eq!(p[1], Wanted::Inherited(inherited));
    assert!(matches!(
        &p[2],
        Wanted::Volume {
            name: None,
            copy_data: true,
            rw: true,
            from_binds: false,
            ..
        }
    ));
}

#[test]
fn inspect_mount_points() {
    let v = mount_point(&MountRecord {
        kind: "volume".into(),
        name: "data".into(),
        source: "/var/lib/berth/volumes/data/_data".into(),
        destination: "/data".into(),
        driver: "local".into(),
        mode: "z".into(),
        rw: true,
        ..Default::default()
    });
    assert_eq!(
        v,
        json!({"Type": "volume", "Name": "data", "Source": "/var/lib/berth/volumes/data/_data",
               "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true,
               "Propagation": ""})
    );
    let b = mount_point(&MountRecord {
        kind: "bind".into(),
        source: "/h".into(),
        destination: "/b".into(),
        propagation: "rprivate".into(),
        ..Default::default()
    });
    assert_eq!(
        b,
        json!({"Type": "bind", "Source": "/h", "Destination": "/b", "Mode": "", "RW": false,
               "Propagation": "rprivate"})
    );
}
