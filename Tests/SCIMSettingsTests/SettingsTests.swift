import Foundation
import Testing
@testable import SCIMSettings

@Suite struct SettingsTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scim-\(UUID().uuidString).env").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func fileThenEnvironmentThenFlags() throws {
        let path = try file("""
            # the responder's settings
            SCIM_WORKERS=8
            SCIM_PUBLIC_URL = "https://scim.example.com/"
            ; systemd accepts these comments too
            DATABASE_URL='postgresql://scim_app:secret@db/scim'

            SCIM_LOG_LEVEL=debug
            """)
        var settings = try Settings.load(environment: ["SCIM_WORKERS": "6", "HOME": "/root"], file: path)
        #expect(settings["SCIM_WORKERS"] == "6")
        #expect(settings.values["SCIM_WORKERS"]?.origin == "environment")
        #expect(settings.values["SCIM_LOG_LEVEL"]?.origin == "\(path):7")
        #expect(settings["DATABASE_URL"] == "postgresql://scim_app:secret@db/scim")
        #expect(settings["HOME"] == nil)
        #expect(try settings.origin("SCIM_PUBLIC_URL") == "https://scim.example.com")
        settings.set("SCIM_WORKERS", "2", origin: "--workers")
        #expect(try settings.integer("SCIM_WORKERS", default: 4, in: 1...256) == 2)
    }

    @Test func aMisspeltNameInTheFileStopsTheStart() throws {
        let path = try file("SCIM_WORKERS=4\nSCIM_WORKRS=8\n")
        let error = #expect(throws: SettingsError.self) { try Settings.load(environment: [:], file: path) }
        #expect(error?.description.contains("\(path):2: SCIM_WORKRS is not a setting") == true)
    }

    @Test func aLineThatIsNotAnAssignmentStopsTheStart() throws {
        let path = try file("SCIM_WORKERS=4\nexport\n")
        let error = #expect(throws: SettingsError.self) { try Settings.load(environment: [:], file: path) }
        #expect(error?.description.contains(":2: expected NAME=value") == true)
    }

    @Test func aNamedFileMustExistTheDefaultOneNeedNot() throws {
        #expect(throws: SettingsError.self) { try Settings.load(environment: ["SCIM_CONFIG_FILE": "/nonexistent/scim.env"]) }
        let settings = try Settings.load(environment: ["SCIM_CONFIG_FILE": "/dev/null", "SCIM_WORKERS": "3"])
        #expect(settings["SCIM_WORKERS"] == "3")
    }

    @Test(arguments: [("on", true), ("OFF", false), ("false", false), ("true", true), ("0", false), ("yes", true), ("no", false)])
    func flagsMeanWhatTheySay(text: String, expected: Bool) throws {
        let settings = Settings(values: ["SCIM_DB_PREPARED_STATEMENTS": (text, "environment")])
        #expect(try settings.flag("SCIM_DB_PREPARED_STATEMENTS", default: !expected) == expected)
    }

    @Test(arguments: ["maybe", "of", "2"])
    func anUnclearFlagIsAnError(text: String) {
        let settings = Settings(values: ["SCIM_DB_PREPARED_STATEMENTS": (text, "/etc/scim/scim.env:3")])
        let error = #expect(throws: SettingsError.self) { try settings.flag("SCIM_DB_PREPARED_STATEMENTS", default: true) }
        #expect(error?.description == "SCIM_DB_PREPARED_STATEMENTS=\(text) (/etc/scim/scim.env:3): expected on or off (true/false, yes/no, 1/0).")
    }

    @Test(arguments: ["abc", "0", "-1", "4.5", "300"])
    func aNumberOutOfItsRangeIsAnError(text: String) {
        let settings = Settings(values: ["SCIM_WORKERS": (text, "environment")])
        #expect(throws: SettingsError.self) { try settings.integer("SCIM_WORKERS", default: 4, in: 1...256) }
    }

    @Test func anEmptyValueMeansTheDefault() throws {
        let settings = Settings(values: ["SCIM_WORKERS": ("", "environment")])
        #expect(try settings.integer("SCIM_WORKERS", default: 4, in: 1...256) == 4)
    }

    @Test(arguments: ["scim.example.com", "https://scim.example.com/scim/v2", "ftp://x", "https://"])
    func anOriginIsSchemeAndHostOnly(text: String) {
        let settings = Settings(values: ["SCIM_PUBLIC_URL": (text, "environment")])
        #expect(throws: SettingsError.self) { try settings.origin("SCIM_PUBLIC_URL") }
    }

    @Test func octalModes() throws {
        #expect(try Settings(values: ["SCIM_SOCKET_MODE": ("660", "environment")]).octalMode("SCIM_SOCKET_MODE", default: 0) == 0o660)
        #expect(throws: SettingsError.self) { try Settings(values: ["SCIM_SOCKET_MODE": ("680", "environment")]).octalMode("SCIM_SOCKET_MODE", default: 0) }
    }

    @Test func passwordsAreNotPrinted() {
        #expect(DatabaseLocation.redacted("postgresql://scim_app:secret@db:5432/scim") == "postgresql://scim_app:***@db:5432/scim")
        #expect(DatabaseLocation.redacted("host=db user=scim password=secret dbname=scim") == "host=db user=scim password=*** dbname=scim")
        #expect(DatabaseLocation.redacted("postgresql:///scim?host=/run") == "postgresql:///scim?host=/run")
    }
}
