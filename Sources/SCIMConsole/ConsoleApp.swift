import SCIMAdmin
import SCIMCore
