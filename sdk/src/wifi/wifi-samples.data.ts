/**
 * Real output of nmcli and wpa_cli, for the WiFi manager tests. Each sample says where it comes from. "Verbatim"
 * means copied as published (MAC addresses and names are those of the publication); "projected" or "composed"
 * says exactly what was changed. Nothing here was captured on a triadkit board: the managers are untested on
 * hardware.
 */

// ---------------------------------------------------------------------------------------------- nmcli

/**
 * Verbatim: node-wifi (npm `node-wifi` 2.0.16, github.com/friedrith/node-wifi) `src/linux/scan/__logs__/scan-01.log`,
 * a capture of `nmcli --terse --fields active,ssid,bssid,mode,chan,freq,signal,security,wpa-flags,rsn-flags
 * device wifi list`. Shows the terse escaping of colons in BSSIDs (`\:`), an open network (empty SECURITY), a
 * hidden network (empty SSID) and a non-ASCII SSID.
 */
export const NMCLI_NODE_WIFI_FIELDS = [
  "active",
  "ssid",
  "bssid",
  "mode",
  "chan",
  "freq",
  "signal",
  "security",
  "wpa-flags",
  "rsn-flags",
] as const;
export const NMCLI_NODE_WIFI_SCAN = String.raw`no:Linksys01777:31\:23\:03\:1A\:9F\:1C:Infra:11:2462 MHz:100:WPA2:(none):pair_ccmp group_ccmp psk
no:Linksys01777-invité:31\:23\:03\:18\:9F\:1C:Infra:11:2462 MHz:100::(none):(none)
no:EBOX_6070:00\:21\:6A\:75\:60\:22:Infra:11:2462 MHz:100:WPA1 WPA2:pair_tkip pair_ccmp group_tkip psk:pair_tkip pair_ccmp group_tkip psk
yes:Linksys01777_5GHz:31\:23\:03\:1A\:9F\:1D:Infra:36:5180 MHz:75:WPA2:(none):pair_ccmp group_ccmp psk
no:NERMNET:61\:FF\:7B\:43\:B5\:27:Infra:1:2412 MHz:64:WPA2:(none):pair_tkip pair_ccmp group_tkip psk
no:NERMNET:61\:FF\:7B\:43\:B5\:26:Infra:149:5745 MHz:64:WPA1 WPA2:pair_tkip pair_ccmp group_tkip psk:pair_tkip pair_ccmp group_tkip psk
no:VIRGIN172:B1\:EE\:0E\:E4\:FA\:1E:Infra:6:2437 MHz:62:WPA2:(none):pair_ccmp group_ccmp psk
no:NERMNET:91\:48\:27\:4B\:7C\:5A:Infra:13:2472 MHz:55:WPA1 WPA2:pair_tkip pair_ccmp group_tkip psk:pair_tkip pair_ccmp group_tkip psk
no:VIRGIN660:D1\:D7\:75\:A2\:BC\:F6:Infra:6:2437 MHz:54:WPA2:(none):pair_ccmp group_ccmp psk
no:VIDEOTRON9021:A1\:E4\:CB\:FB\:42\:38:Infra:11:2462 MHz:40:WPA2:(none):pair_ccmp group_ccmp psk
no:BELL320:A1\:6A\:BB\:E9\:FC\:E7:Infra:44:5220 MHz:30:WPA2:(none):pair_ccmp group_ccmp psk
no:BELL320:A1\:6A\:BB\:E9\:FC\:E5:Infra:100:5500 MHz:30:WPA2:(none):pair_ccmp group_ccmp psk
no::A1\:6A\:BB\:E9\:FC\:E5:Infra:100:5500 MHz:30:WPA2:(none):pair_ccmp group_ccmp psk
no:BELL320:A1\:6A\:BB\:E9\:FC\:E6:Infra:1:2412 MHz:25:WPA2:(none):pair_ccmp group_ccmp psk
`;

/**
 * Projected from {@link NMCLI_NODE_WIFI_SCAN}: the same lines keeping only the columns SSID, BSSID, CHAN, SIGNAL,
 * SECURITY, i.e. what `nmcli -t -f SSID,BSSID,CHAN,SIGNAL,SECURITY device wifi list` prints for that air.
 */
export const NMCLI_SCAN_SAMPLE = String.raw`Linksys01777:31\:23\:03\:1A\:9F\:1C:11:100:WPA2
Linksys01777-invité:31\:23\:03\:18\:9F\:1C:11:100:
EBOX_6070:00\:21\:6A\:75\:60\:22:11:100:WPA1 WPA2
Linksys01777_5GHz:31\:23\:03\:1A\:9F\:1D:36:75:WPA2
NERMNET:61\:FF\:7B\:43\:B5\:27:1:64:WPA2
:A1\:6A\:BB\:E9\:FC\:E5:100:30:WPA2
BELL320:A1\:6A\:BB\:E9\:FC\:E6:1:25:WPA2
`;

/**
 * Verbatim (the WiFi device's block): a recorded `nmcli -t -m multiline device show` used as a fixture by a
 * public Haskell project's tests on GitHub (device wlp0s15d2, connection "SomeSSID"). Our command asks only for
 * GENERAL.STATE, GENERAL.CONNECTION and IP4.ADDRESS; nmcli prints the same lines for those fields.
 */
export const NMCLI_DEVICE_SHOW_CONNECTED = `GENERAL.DEVICE:wlp0s15d2
GENERAL.TYPE:wifi
GENERAL.HWADDR:FC:44:82:DE:F8:14
GENERAL.MTU:1500
GENERAL.STATE:100 (connected)
GENERAL.CONNECTION:SomeSSID
GENERAL.CON-PATH:/org/freedesktop/NetworkManager/ActiveConnection/2
IP4.ADDRESS[1]:192.168.1.2/24
IP4.GATEWAY:192.168.1.1
IP4.ROUTE[1]:dst = 192.168.1.0/24, nh = 0.0.0.0, mt = 3003
IP4.ROUTE[2]:dst = 0.0.0.0/0, nh = 192.168.1.1, mt = 3003
IP4.DNS[1]:192.168.1.1
IP6.ADDRESS[1]:958a:d95d:75c8:2e2e:f802:21dd:4acc:908d/64
IP6.GATEWAY:
`;

/** Verbatim: the p2p device's block of the same fixture (a disconnected device, empty connection). */
export const NMCLI_DEVICE_SHOW_DISCONNECTED = `GENERAL.DEVICE:p2p-dev-wlp0s15d2
GENERAL.TYPE:wifi-p2p
GENERAL.HWADDR:
GENERAL.MTU:0
GENERAL.STATE:30 (disconnected)
GENERAL.CONNECTION:
GENERAL.CON-PATH:
`;

/**
 * From a public Python camera-setup script on GitHub that drives `nmcli dev wifi connect` and matches these
 * outputs. The wrong-key line is verbatim; of the success line the script quotes the prefix verbatim (with the
 * terminal's erase-line sequence nmcli prints first) and the UUID here is a placeholder.
 */
export const NMCLI_CONNECT_OK =
  "\x1b[2K\rDevice 'wlan0' successfully activated with 'f3a1b2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b'.\n";
export const NMCLI_WRONG_KEY_NUMBERED =
  "Error: Connection activation failed: (7) Secrets were required, but not provided.\n";

/** Verbatim: Ubuntu forums (2024-08-18), `nmcli device wifi connect <SSID> password <PASSWORD>` with a bad key. */
export const NMCLI_WRONG_KEY = "Error: Connection activation failed: Secrets were required, but not provided.\n";

/**
 * Verbatim: nmcli's warning when NetworkManager asks for the key again and nmcli has no way to answer
 * (NetworkManager src/nmcli/common.c, get_secrets_from_user()), as quoted in a public issue reproduction.
 */
export const NMCLI_NO_ASK_WARNING =
  "Warning: password for '802-11-wireless-security.psk' not given in 'passwd-file' and nmcli cannot ask without '--ask' option.\n";

/** Verbatim: public test fixtures quoting nmcli for a network that is not (or no longer) on the air. */
export const NMCLI_NO_SUCH_SSID = "Error: No network with SSID 'ExampleNet' found.\n";
export const NMCLI_SSID_NOT_FOUND_53 =
  "Error: Connection activation failed: (53) The Wi-Fi network could not be found.\n";

/**
 * Composed: nmcli's activation-failure format with NetworkManager's text for NM_DEVICE_STATE_REASON_IP_CONFIG_UNAVAILABLE
 * (5) from libnm's nm-dbus-interface.h. No public capture of this exact line was found.
 */
export const NMCLI_DHCP_FAILED =
  "Error: Connection activation failed: (5) IP configuration could not be reserved (no available address, timeout, etc.).\n";

/** Composed: nmcli's `--wait` expiry message (nmcli source, "Error: Timeout expired (%d seconds)"). */
export const NMCLI_TIMEOUT = "Error: Timeout expired (45 seconds)\n";

/** Completed from a public test fixture quoting nmcli when polkit refuses the caller (cut after "control"). */
export const NMCLI_NOT_AUTHORIZED = "Error: Connection activation failed: Not authorized to control networking.\n";

// ---------------------------------------------------------------------------------------------- wpa_cli

/**
 * Verbatim (first five rows): DigitalRooster (GPL-3.0, github.com/truschival/DigitalRooster)
 * `test/test_wifi_control.cpp`, a recorded `wpa_cli scan_results`. Tab-separated; includes a WPA/WPA2 mixed AP.
 */
export const WPA_SCAN_RESULTS_SAMPLE = [
  "bssid / frequency / signal level / flags / ssid",
  "34:31:c4:e1:d3:97\t2462\t-60\t[WPA2-PSK-CCMP][ESS]\tCanto do Chimarrao",
  "cc:ce:1e:ca:d3:72\t2462\t-62\t[WPA2-PSK-CCMP][WPS][ESS]\tFRITZ!Box 7430 LF",
  "0c:80:63:e1:78:0c\t2422\t-83\t[WPA-PSK-CCMP+TKIP][WPA2-PSK-CCMP+TKIP][ESS]\tWeirdNet",
  "5c:dc:96:c1:dc:b4\t2462\t-78\t[WPA2-PSK-CCMP][WPS][ESS]\tWLAN-174607",
  "58:d7:59:8f:19:10\t2412\t-83\t[WPA2-PSK-CCMP][WPS][ESS]\tWLAN-PXSRVK",
  "",
].join("\n");

/**
 * Verbatim: a public device README on GitHub documenting its BLE WiFi characteristic, which returns
 * `wpa_cli status` of a board on a 5 GHz WPA2 network.
 */
export const WPA_STATUS_COMPLETED = `bssid=9c:9d:7e:89:3c:a6
freq=5240
ssid=SLAM_AP
id=3
mode=station
wifi_generation=6
pairwise_cipher=CCMP
group_cipher=CCMP
key_mgmt=WPA2-PSK
wpa_state=COMPLETED
ip_address=192.168.31.199
p2p_device_address=52:41:1c:b5:3b:c2
address=50:41:1c:b5:3b:c2
uuid=2ac68d52-d10a-5acd-8a20-1aec276fc077
ieee80211ac=1
`;

/** Verbatim: Microchip linux4sam SAMA5D3 Xplained WiFi notes (public GitHub), `wpa_cli status` on an open AP. */
export const WPA_STATUS_OPEN = `bssid=88:9b:39:f3:d0:4d
ssid=User_AP
id=0
mode=station
pairwise_cipher=NONE
group_cipher=NONE
key_mgmt=NONE
wpa_state=COMPLETED
ip_address=192.168.43.2
address=00:80:c2:b3:d7:4d
`;

/**
 * Verbatim: Raspberry Pi forums post (2020-06-04), `sudo wpa_cli status` without `-i` (hence the `Selected
 * interface` line); the poster replaced addresses with `<omitted>`.
 */
export const WPA_STATUS_SELECTED_INTERFACE = `Selected interface 'wlan0'
bssid=<omitted>
freq=5220
ssid=moonraker
id=0
mode=station
pairwise_cipher=CCMP
group_cipher=CCMP
key_mgmt=WPA2-PSK
wpa_state=COMPLETED
ip_address=192.168.1.224
p2p_device_address=<omitted>
address=<omitted>
uuid=<omitted>
`;

/**
 * Composed from the `status` fields above: associated (COMPLETED) but no `ip_address=` yet, which is what
 * wpa_supplicant reports while udhcpc/dhcpcd has no lease.
 */
export const WPA_STATUS_COMPLETED_NO_IP = `bssid=9c:9d:7e:89:3c:a6
freq=5240
ssid=SLAM_AP
id=3
mode=station
key_mgmt=WPA2-PSK
wpa_state=COMPLETED
address=50:41:1c:b5:3b:c2
`;

/** Composed: `status` while scanning for a network that is not there (wpa_state values from wpa_supplicant). */
export const WPA_STATUS_SCANNING = `wpa_state=SCANNING
address=50:41:1c:b5:3b:c2
`;

/**
 * Verbatim lines: Ubuntu forums, "Intel 7260" thread (2014-04-19), wpa_supplicant's syslog for a wrong
 * passphrase. An interactive wpa_cli shows the same messages prefixed with the level, `<3>`.
 */
export const WPA_EVENTS_WRONG_KEY_OLD = [
  "<3>CTRL-EVENT-DISCONNECTED bssid=00:03:d8:06:d9:3a reason=4 locally_generated=1",
  "<3>WPA: 4-Way Handshake failed - pre-shared key may be incorrect",
  '<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="awesomerouter" auth_failures=1 duration=10',
].join("\n");

/** Verbatim event: public WiFi-manager tests (wpa_supplicant ≥ 2.4 adds `reason=`). */
export const WPA_EVENT_TEMP_DISABLED_WRONG_KEY =
  '<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="SecNet" auth_failures=1 duration=10 reason=WRONG_KEY';

/** Verbatim event: a public mailing-list log (a temporary disable that is NOT a wrong key). */
export const WPA_EVENT_TEMP_DISABLED_CONN_FAILED =
  '<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="Batman" auth_failures=1 duration=10 reason=CONN_FAILED';

/**
 * Verbatim banner and event lines: an interactive wpa_cli session as shown in a public setup guide (banner,
 * prompt, `<2>CTRL-EVENT-…`), and the ArchWiki wpa_supplicant page's connected event.
 */
export const WPA_INTERACTIVE_BANNER = "Selected interface 'wlan0'\n\nInteractive mode\n";
export const WPA_EVENT_CONNECTED =
  "<2>CTRL-EVENT-CONNECTED - Connection to 00:00:00:00:00:00 completed (reauth) [id=0 id_str=]";

/** Composed: the event wpa_supplicant ≥ 2.6 sends after a scan without the configured network (wpa_ctrl.h). */
export const WPA_EVENT_NETWORK_NOT_FOUND = "<3>CTRL-EVENT-NETWORK-NOT-FOUND";

/** Composed in the format of `list_networks` (header and tab-separated rows, wpa_supplicant ctrl_iface.c). */
export const WPA_LIST_NETWORKS = [
  "network id / ssid / bssid / flags",
  "0\tHome\tany\t[CURRENT]",
  "1\tOffice\tany\t[DISABLED]",
  "",
].join("\n");
